"""`rounds lists` and `rounds voices` as a curator uses them."""

from __future__ import annotations

from pathlib import Path

import pytest


def test_curating_a_list_end_to_end(rounds, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    rounds("lists", "create", "Nurses", "--topic", "nursing")
    out, _ = rounds("lists", "add", "Nurses", "@alice@Example.Social", "x:DrBob")
    assert "added #1 @alice@example.social" in out and "added #2 x:@DrBob" in out
    rounds("voices", "link", "alice@example.social", "x:DrBob")
    rounds("voices", "edit", "#1", "--name", "Alice Nurse", "--role", "nurse")
    out, _ = rounds("lists", "show", "Nurses")
    assert "Nurses: 1 members (topics: nursing)" in out
    assert "#1 Alice Nurse (@alice@example.social, x:@DrBob) [nurse]" in out
    rounds("lists", "create", "ICU")
    rounds("lists", "move", "Nurses", "ICU", "#1")
    out, _ = rounds("lists", "history", "Nurses")
    assert "moved" in out and "(to ICU)" in out and "by `rounds lists move Nurses ICU`" in out
    out, _ = rounds("voices", "show", "x:DrBob")
    assert "lists: ICU" in out


def test_bad_handles_are_refused_before_anything_changes(rounds) -> None:  # type: ignore[no-untyped-def]
    rounds("lists", "create", "L")
    _, err = rounds("lists", "add", "L", "alice@example.social", "bob@", code=1)
    assert "'bob@' is not a Mastodon address: expected user@domain" in err
    out, _ = rounds("voices", "show")
    assert out == ""


def test_delete_asks_first(rounds, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    rounds("lists", "create", "L")
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO("n\n"))
    rounds("lists", "delete", "L", code=130)
    out, _ = rounds("lists", "show")
    assert out.startswith("L\t0 members")
    rounds("lists", "delete", "L", "--yes")
    out, _ = rounds("lists", "show")
    assert "no curated lists yet" in out


def test_import_export_and_history_on_the_command_line(rounds, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    src = tmp_path / "lists.csv"
    src.write_text("Nurses,alice@example.social\nNurses,nope\nNurses,carol@n.example\n")
    _, err = rounds("lists", "import", str(src), code=1)
    assert "row 2: 'nope' is not a Mastodon address" in err
    out, err = rounds("lists", "import", str(src), "--skip-bad")
    assert "imported 2 membership(s)" in out and "skipped row 2" in err
    out, _ = rounds("lists", "export")
    assert out == "Nurses,alice@example.social\nNurses,carol@n.example\n"
    out, _ = rounds("lists", "history", "Nurses", "--on", "2000-01-01")
    assert "0 members" in out
    out, _ = rounds("lists", "history", "Nurses", "--on", "2999-01-01")
    assert "2 members" in out
