"""Issue 12 item 8: an output path that cannot be written is one line naming the path and
the reason, exit 1, and no half-written file left behind, in every command that writes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from aggregator.cli import main
from tests.ops.conftest import WriteConfig


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


CASES = {
    "archive into a file": (["archive", "--settle", "0", "{file}/sub"], "{file}/sub",
                            "Not a directory"),
    "export -o into a file": (["export", "-o", "{file}/out.jsonl"], "{file}/out.jsonl",
                              "Not a directory"),
    "export --split into a file": (["export", "--split", "month", "-o", "{file}/sub"],
                                   "{file}/sub", "Not a directory"),
    "export -o a missing directory": (["export", "-o", "{root}/missing/out.jsonl"],
                                      "{root}/missing/out.jsonl", "No such file or directory"),
    "export --gzip into a file": (["export", "--gzip", "-o", "{file}/out.jsonl.gz"],
                                  "{file}/out.jsonl.gz", "Not a directory"),
    "lists export -o into a file": (["lists", "export", "-o", "{file}/lists.csv"],
                                    "{file}/lists.csv", "Not a directory"),
}


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_unwritable_output_is_one_line_and_leaves_nothing(
        write_config: WriteConfig, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    cfg = str(write_config())
    assert main(["--config", cfg, "collect"]) == 0
    root = tmp_path / "out"
    root.mkdir()
    (root / "posts.jsonl").write_text("already here\n")
    before = _files(root)
    for label, (args, shown, reason) in CASES.items():
        capsys.readouterr()
        fill = {"file": str(root / "posts.jsonl"), "root": str(root)}
        code = main(["--config", cfg, *[a.format(**fill) for a in args]])
        err = capsys.readouterr().err
        assert code == 1, (label, err)
        assert err.strip().splitlines() == [
            f"error: cannot write {shown.format(**fill)}: {reason}"], (label, err)
        assert _files(root) == before, label
        assert (root / "posts.jsonl").read_text() == "already here\n"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_read_only_directory_is_named(write_config: WriteConfig, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    cfg = str(write_config())
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        assert main(["--config", cfg, "export", "-o", str(locked / "x.jsonl")]) == 1
        assert f"cannot write {locked / 'x.jsonl'}: Permission denied" in capsys.readouterr().err
        assert not list(locked.iterdir())
    finally:
        locked.chmod(0o700)


def test_a_failed_write_removes_its_temporary_file(tmp_path: Path) -> None:
    from aggregator.fileio import atomic_text

    target = tmp_path / "out.jsonl"
    with pytest.raises(RuntimeError), atomic_text(target, gz=True) as out:
        out.write("half a file\n")
        raise RuntimeError("interrupted")
    assert not list(tmp_path.iterdir())
    with atomic_text(target) as out:
        out.write("whole\n")
    assert target.read_text() == "whole\n" and list(tmp_path.iterdir()) == [target]
    assert oct(target.stat().st_mode & 0o777) == oct(0o666 & ~_umask())


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
