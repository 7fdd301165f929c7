"""`rounds import` of a generated twarc2 file: the real command in a subprocess, as a user
runs it (startup, format detection, streaming parse, X normalizer, classification,
`Repository.save_page` in batches, full-text index), into a fresh SQLite archive.

Figures: the import rate (posts per wall-clock second, startup included), and the peak
memory of the import process at n and at 2n posts: a streaming import holds one batch,
so the peak must not grow with the file.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

from bench.generate import generate_tweets
from bench.ingest import fresh_sqlite, tempdir
from bench.report import Figure, Report, median


def write_twarc2(path: Path, n: int) -> int:
    """`n` tweets as twarc2 lines (one v2 response of 100 per line); the distinct posts."""
    keys = set()
    with path.open("w") as out:
        for page in generate_tweets(n):
            out.write(json.dumps(page) + "\n")
            originals = {t["id"] for t in page["includes"].get("tweets", [])}
            for t in page["data"]:
                refs = [r["id"] for r in t.get("referenced_tweets", ())
                        if r["type"] == "retweeted" and r["id"] in originals]
                keys.add(refs[0] if refs else t["id"])
    return len(keys)


def run_import(tmp: Path, name: str, path: Path) -> tuple[float, float, str, int]:
    """(wall seconds, CPU seconds, summary line, peak RSS in kB) of `rounds import` into a
    fresh archive."""
    url, _ = fresh_sqlite(tmp, name)
    cfg = tmp / f"{name}.toml"
    cfg.write_text(f'[database]\nurl = "{url}"\n')
    cfg.chmod(0o600)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "bench.importing", "--config", str(cfg),
                             "import", str(path), "--source", "bench"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = proc.communicate()
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"rounds import failed: {err.strip()}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    line, peak = out.strip().rsplit("\n", 1)
    return seconds, cpu, line.strip(), int(peak.split()[1])


def _child(argv: list[str]) -> int:
    """`rounds ARGV`, then this process's peak memory (VmHWM, kB) on the last line.

    Not getrusage: Linux carries ru_maxrss across exec, so a child forked from a bench
    holding a million generated tweets would report the bench's size, not its own."""
    from aggregator.cli import main

    code = main(argv)
    hwm = next(line for line in Path("/proc/self/status").read_text().splitlines()
               if line.startswith("VmHWM"))
    print(f"\nVmHWM {hwm.split()[1]}")
    return code


def bench_import(report: Report, n: int, runs: int) -> None:
    print(f"\n== import: {n:,} tweets from a twarc2 file ({runs} runs)", flush=True)
    with tempdir() as tmp_name:
        tmp = Path(tmp_name)
        path = tmp / "medtwitter.jsonl"
        expected = write_twarc2(path, n)
        seconds, cpus, peaks = [], [], []
        for i in range(runs):
            took, cpu, line, peak = run_import(tmp, f"import{i}", path)
            if not line.startswith(f"read {n}, stored {expected},"):
                raise SystemExit(f"import summary {line!r}, expected {expected} stored")
            seconds.append(took)
            cpus.append(cpu)
            peaks.append(peak)
        rates = [n / s for s in seconds]
        report.add(Figure(f"rounds import, twarc2 JSONL, {n:,} tweets (wall, startup "
                          "included)", median(rates), "posts/s", runs=rates))
        cpu_rates = [n / s for s in cpus]
        report.add(Figure("rounds import, posts per CPU second of the import process",
                          median(cpu_rates), "posts/s", runs=cpu_rates))
        double = tmp / "double.jsonl"
        write_twarc2(double, 2 * n)
        _, _, _, peak2 = run_import(tmp, "double", double)
    report.add(Figure(f"rounds import peak memory at {n:,} / {2 * n:,} tweets",
                      peaks[-1] / 1024, "MB", "flat", peak2 <= peaks[-1] * 1.15,
                      note=f"{peak2 / 1024:.0f} MB at {2 * n:,}"))


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1:]))
