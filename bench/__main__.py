"""`make bench` / `python -m bench [--quick]`: every figure of issues #9 and #19, medians.

Full run: bulk ingest of 1,000,000 statuses (`--ingest N` for fewer), page-by-page ingest
and collect at 100,000, reads at 10k/100k/1M posts (databases cached under bench/out/),
PostgreSQL when the local server answers. `--quick`: 10k only.
Results: a table on stdout and bench/out/results.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from bench.generate import OUT, Built, build_db, generate_statuses
from bench.report import Figure, Report, median

PG_URL = os.environ.get("ROUNDS_BENCH_PG_URL",
                        "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _rate(n: int, seconds: list[float]) -> tuple[float, list[float]]:
    rates = [n / s for s in seconds]
    return median(rates), rates


# --------------------------------------------------------------------------- ingest


def _ingest_run(mode: str, file: Path, target: str) -> dict[str, Any]:
    """One bulk ingest run in a process of its own (its peak RSS is the run's)."""
    proc = subprocess.run([sys.executable, "-m", "bench.ingest", mode, str(file), target],
                          capture_output=True, text=True, check=False,
                          cwd=Path(__file__).resolve().parent.parent)
    if proc.returncode != 0:
        raise SystemExit(f"ingest run {mode} failed:\n{proc.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def bench_ingest(report: Report, n: int, runs: int, n_pages: int) -> None:
    from bench.ingest import (
        classify_seconds,
        detect_seconds,
        fresh_sqlite,
        ingest_ours,
        statuses_file,
        tempdir,
    )

    print(f"\n== bulk ingest: rounds import of {n:,} Mastodon statuses (JSONL) into SQLite, "
          f"against sqlite-utils ({runs} runs each)", flush=True)
    file = statuses_file(n)
    with file.open("rb") as fh:
        expected = len({(s["reblog"] or s)["uri"] for s in map(json.loads, fh)})
    ours, single, theirs = [], [], []
    with tempdir() as tmp:
        for i in range(runs):  # interleaved, so drift on a shared machine hits all three
            for mode, into in (("import", ours), ("import1", single), ("su", theirs)):
                url, path = fresh_sqlite(Path(tmp), f"{mode}{i}")
                run = _ingest_run(mode, file, str(path) if mode == "su" else url)
                if mode != "su" and run["stored"] != expected:
                    raise SystemExit(f"import stored {run['stored']} posts, expected "
                                     f"{expected}: {run.get('summary')}")
                into.append(run)
                path.unlink(missing_ok=True)
    rate, rates = _rate(n, [r["seconds"] for r in ours])
    report.add(Figure(f"rounds import, {n:,} statuses (parse+normalize+classify+works+"
                      "store+FTS; worker process)", rate, "posts/s", ">= 20,000/s",
                      rate >= 20_000, rates))
    one, ones = _rate(n, [r["seconds"] for r in single])
    report.add(Figure("rounds import --one-process", one, "posts/s", runs=ones))
    su_rate, su_rates = _rate(n, [r["seconds"] for r in theirs])
    report.add(Figure("sqlite-utils insert_all, same statuses (raw JSON column + FTS5 on "
                      "the text)", su_rate, "posts/s", runs=su_rates))
    ratio = 0.0
    for label, runs_ in (("worker process", ours), ("one process", single)):
        r = median([t["seconds"] / o["seconds"] for o, t in zip(runs_, theirs, strict=True)])
        report.add(Figure(f"bulk ingest ratio rounds import ({label}) / sqlite-utils", r,
                          "x", ">= 2.0x", r >= 2.0))
        ratio = max(ratio, r)
    rss = max(r["rss_mb"] + r["worker_rss_mb"] for r in ours)
    report.add(Figure("rounds import peak RSS (importing + worker process)", rss, "MB",
                      "< 500 MB", rss < 500,
                      note=f"importing {max(r['rss_mb'] for r in ours):.0f} MB, worker "
                           f"{max(r['worker_rss_mb'] for r in ours):.0f} MB"))
    if rate < 20_000 or ratio < 2.0:
        from bench.ingest import stage_costs

        with tempdir() as tmp:
            costs = stage_costs(file, Path(tmp))
        for stage, us in costs.items():
            report.add(Figure(f"bulk ingest profile: {stage}", us, "µs/post"))
        report.note("bulk ingest below target: 20,000 posts/s is 50 µs a post on one core, "
                    "100 µs on two; the profile above is one process, 10,000 statuses "
                    "(the worker process parses, normalizes, classifies and pickles; the "
                    "importing process unpickles, finds the works and stores)")

    print(f"\n== ingest page by page (as collected): {n_pages:,} statuses", flush=True)
    from bench.generate import generate_statuses

    statuses = generate_statuses(n_pages)
    count, seconds = classify_seconds(statuses[:20_000], max(runs, 3))
    rate, rates = _rate(count, seconds)
    report.add(Figure(f"classification alone, one core ({count:,} posts)", rate, "posts/s",
                      ">= 20,000/s", rate >= 20_000, rates))
    count, sharing, seconds = detect_seconds(statuses[:20_000], max(runs, 3))
    rate, rates = _rate(count, seconds)
    report.add(Figure(f"finding scholarly works alone, one core ({count:,} posts)", rate,
                      "posts/s", runs=rates,
                      note=f"{sharing:,} of them share a DOI, PMID, NCT or journal page"))
    paged = []
    with tempdir() as tmp:
        for i in range(runs):
            url, _ = fresh_sqlite(Path(tmp), f"ours{i}")
            took, _stored = ingest_ours(url, statuses)
            paged.append(took)
    rate, rates = _rate(n_pages, paged)
    report.add(Figure("ingest SQLite page by page (save_page of 1,000)", rate, "posts/s",
                      runs=rates))


# --------------------------------------------------------------------------- collect


def bench_collect(report: Report, n_sources: int, per_source: int, runs: int) -> None:
    from bench.collect import (
        add_new_posts,
        collect_mastodon_to_sqlite,
        collect_ours,
        start_fake,
        tight_budget,
        unchanged_then_steady,
    )
    from bench.ingest import fresh_sqlite, tempdir

    n = n_sources * per_source
    print(f"\n== collect: {n:,} statuses across {n_sources} hashtag sources from the "
          f"loopback fake ({runs} runs each)", flush=True)
    fake = start_fake(n_sources, per_source, seed=5)
    ours, theirs, second_requests, steady = [], [], [], []
    try:
        with tempdir() as tmp:
            for i in range(runs):
                url, _ = fresh_sqlite(Path(tmp), f"collect{i}")
                seconds, new, _requests, service = collect_ours(url, fake, n_sources, n)
                ours.append((seconds, new))
                try:
                    if i == 0:
                        # An unchanged second pass, then steady state: 5 new per source.
                        unchanged, steady = unchanged_then_steady(
                            service, fake.timeline_requests,
                            lambda seed: add_new_posts(fake, n_sources, 5, seed=seed),
                            passes=3, what="an unchanged second pass")
                        second_requests.append(unchanged)
                finally:
                    service.close()
                    service.repo.db.dispose()
                _, path = fresh_sqlite(Path(tmp), f"m2s{i}")
                seconds, count = collect_mastodon_to_sqlite(path, fake, n_sources)
                theirs.append((seconds, count))
    finally:
        fake.stop()
    rates = [new / s for s, new in ours]
    m2s = [count / s for s, count in theirs]
    report.add(Figure("collect ours (HTTP+JSON+normalize+classify+store)", median(rates),
                      "posts/s", runs=rates))
    report.add(Figure("collect mastodon-to-sqlite pipeline", median(m2s), "posts/s", runs=m2s))
    ratio = median([a / b for a, b in zip(rates, m2s, strict=True)])
    report.add(Figure("collect ratio ours / mastodon-to-sqlite", ratio, "x", ">= 1.0x",
                      ratio >= 1.0))
    report.add(Figure("requests on an unchanged second pass", float(second_requests[0]),
                      f"(sources: {n_sources})", f"= {n_sources}",
                      second_requests[0] == n_sources))
    reqs = sum(r for r, _, _ in steady)
    added = sum(a for _, a, _ in steady)
    new = sum(g for _, _, g in steady)
    report.add(Figure("steady state: requests per new status (5 new/source/pass)",
                      reqs / max(added, 1), "req/status", "1 request per source and pass",
                      reqs == len(steady) * n_sources,
                      note=f"{reqs} requests, {len(steady)} passes x {n_sources} sources; "
                           f"{added} new statuses = {new} new posts (boosts of one post "
                           f"store it once)"))

    print("\n== politeness: tight budget (30 requests per 3 s window)", flush=True)
    with tempdir() as tmp:
        url, _ = fresh_sqlite(Path(tmp), "tight")
        requests_made, rejected, seconds, got = tight_budget(url, 30, 3.0, 12, 200)
    report.add(Figure("429s from our own pacing (30 req / 3 s budget)", float(rejected),
                      f"(of {requests_made} requests, {got} posts, {seconds:.1f} s)", "= 0",
                      rejected == 0))


# --------------------------------------------------------------------------- bluesky


def bench_bluesky(report: Report, n_sources: int, per_source: int, runs: int) -> None:
    import aggregator.collectors.bluesky.collector  # noqa: F401  (the SDK import: timed below)
    from bench.bluesky import (
        add_new_items,
        generate_feed,
        mean_item_bytes,
        per_post_costs,
        sdk_import_seconds,
        sky_settings,
        start_sky_fake,
    )
    from bench.collect import make_service, unchanged_then_steady
    from bench.ingest import fresh_sqlite, tempdir

    n = n_sources * per_source
    print(f"\n== Bluesky collect: {n:,} feed items across {n_sources} list sources from the "
          f"loopback XRPC fake, anonymous ({runs} runs)", flush=True)
    fake, expected = start_sky_fake(n_sources, per_source, seed=11)
    rates, cpu_rates, unchanged, steady = [], [], [], []
    try:
        with tempdir() as tmp:
            for i in range(runs):
                url, _ = fresh_sqlite(Path(tmp), f"sky{i}")
                service = make_service(url, sky_settings(url, fake.base_url, n_sources,
                                                         per_source))
                try:
                    service.source_ids()  # configuration sync is not collection
                    started, cpu = time.perf_counter(), time.process_time()
                    results = service.collect()
                    seconds = time.perf_counter() - started
                    cpu = time.process_time() - cpu
                    errors = [r.error for r in results if r.error]
                    new = sum(r.new for r in results)
                    if errors or new != len(expected):
                        raise SystemExit(f"Bluesky collect stored {new} posts, expected "
                                         f"{len(expected)}: {errors[:3]}")
                    rates.append(new / seconds)
                    cpu_rates.append(new / cpu)
                    if i == runs - 1:  # last: the new items it adds change the feeds
                        requests, steady = unchanged_then_steady(
                            service, fake.xrpc_requests,
                            lambda seed: add_new_items(fake, n_sources, 5, seed=seed),
                            passes=2, what="an unchanged Bluesky pass")
                        unchanged.append(requests)
                finally:
                    service.close()
                    service.repo.db.dispose()
    finally:
        fake.stop()
    report.add(Figure(f"Bluesky collect (XRPC+JSON+normalize+classify+store), {n:,} items",
                      median(rates), "posts/s", runs=rates,
                      note=f"{len(expected):,} distinct posts (reposts of one post store it "
                           f"once)"))
    report.add(Figure("Bluesky collect per CPU second (this process, the fake included)",
                      median(cpu_rates), "posts/s", runs=cpu_rates,
                      note="wall-clock rates fall when other work shares the cores"))
    report.add(Figure("Bluesky requests on an unchanged pass", float(unchanged[0]),
                      f"(sources: {n_sources})", f"= {n_sources}",
                      unchanged[0] == n_sources))
    reqs = sum(r for r, _, _ in steady)
    report.add(Figure("Bluesky steady state: requests per pass (5 new items/source)",
                      reqs / len(steady), f"(sources: {n_sources})",
                      "1 request per source and pass", reqs == len(steady) * n_sources,
                      note=f"{sum(g for _, _, g in steady)} new posts from "
                           f"{sum(a for _, a, _ in steady)} new items"))

    items = generate_feed(2000, seed=12)
    imports = [sdk_import_seconds() for _ in range(max(runs, 3))]
    report.add(Figure("Bluesky: importing the atproto SDK, once per process (CPU)",
                      median(imports), "s", runs=imports))
    costs = per_post_costs(items, runs=max(runs, 3))
    names = {"sdk_parse": "JSON parse, SDK's own (pydantic_core.from_json)",
             "orjson_parse": "JSON parse, orjson",
             "typed_models": "atproto typed models (get_or_create ...GetListFeed.Response)",
             "models_to_dict": "typed models back to dicts (get_model_as_dict)",
             "normalize": "our normalize (FeedPage + normalize_entry, from the dict)"}
    for key, label in names.items():
        report.add(Figure(f"Bluesky per post: {label}", costs[key], "µs/post",
                          note=f"items of {mean_item_bytes(items):,.0f} bytes of JSON on "
                               f"average" if key == "sdk_parse" else ""))
    ratio = costs["typed_models"] / costs["normalize"]
    report.add(Figure("Bluesky typed models / our normalize", ratio, "x",
                      note="the collector reads raw JSON through ClientRaw.invoke_query and "
                           "builds no typed models" if ratio > 1 else ""))


# --------------------------------------------------------------------------- reads


def probe(url: str) -> dict[str, float]:
    """One read probe in a fresh process; it reports its own peak RSS (VmHWM). Not
    RUSAGE_CHILDREN: a child's ru_maxrss starts at this process's size (Linux carries it
    across exec), ~400 MB after the ingest and collect parts."""
    proc = subprocess.run([sys.executable, "-m", "bench.probe", url], capture_output=True,
                          text=True, check=False, cwd=Path(__file__).resolve().parent.parent)
    if proc.returncode != 0:
        raise SystemExit(f"read probe failed:\n{proc.stderr[-3000:]}")
    result: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def bench_reads(report: Report, url: str | None, sizes: list[int], runs: int,
                label: str, copied: Built | None = None) -> None:
    """Read figures at each size, on a database built through the write path (`url` None:
    cached SQLite files), or on `copied` (one size: a database `rounds db copy` filled)."""
    firsts: dict[int, float | None] = {}
    for n in sizes:
        print(f"\n== reads on {label}, {n:,} posts", flush=True)
        built = copied if copied is not None else build_db(url, n)
        how = "cached" if built.cached else "built"
        way = "rounds db copy from SQLite" if copied is not None else "real write path"
        report.add(Figure(f"[{label} {n // 1000}k] database build ({way})",
                          built.posts / built.seconds if built.seconds else None, "posts/s",
                          note=f"{how}: {built.posts:,} posts in {built.seconds:.0f} s"))
        results = [probe(built.url) for _ in range(runs)]

        def med(key: str, results: list[dict[str, float]] = results) -> float | None:
            values = [r[key] for r in results if key in r]
            return median(values) if values else None

        big = n >= 1_000_000
        scale = f"{label} {n // 1000}k"
        first = med("first_screen_s")
        firsts[n] = first
        report.add(Figure(f"[{scale}] reader first screen (Textual, headless)", first, "s",
                          "< 1.5 s" if big else "", (first or 99) < 1.5 if big else None,
                          [r["first_screen_s"] for r in results]))
        shown = med("trends_view_s")
        report.add(Figure(f"[{scale}] Trends view opens (Textual, headless)", shown, "s",
                          "< 1 s" if big else "", (shown or 99) < 1 if big else None,
                          [r["trends_view_s"] for r in results]))
        page = med("topic_unread_ms")
        report.add(Figure(f"[{scale}] page of 50 by topic+unread", page, "ms",
                          "< 50 ms" if big else "", (page or 999) < 50 if big else None))
        report.add(Figure(f"[{scale}] page of 50 by topic+unread, deep keyset page",
                          med("topic_unread_deep_ms"), "ms"))
        hits = med("fulltext_ms")
        via = results[0].get("fulltext_via")
        if via != "query language":
            report.note(f"{scale}: full text measured through the {via}")
        report.add(Figure(f"[{scale}] first 50 full-text hits", hits, "ms",
                          "< 100 ms" if big else "", (hits or 999) < 100 if big else None))
        for key, what in (("common", "a common word (in ~78% of posts)"),
                          ("rare", "a rare word (in ~1 of 25,000)")):
            ms = med(f"fulltext_{key}_ms")
            report.add(Figure(f"[{scale}] first 50 full-text hits, {what}", ms, "ms",
                              "< 50 ms" if big else "", (ms or 999) < 50 if big else None,
                              note=f"{int(results[0][f'fulltext_{key}_rows'])} hits"))
        for key, period in (("papers_30d", "last 30 days"), ("papers_all", "all time")):
            report.add(Figure(f"[{scale}] papers: top 50 works by voices, {period}",
                              med(f"{key}_ms"), "ms",
                              note=f"the top work: {results[0].get(f'{key}_top_voices')} "
                                   f"voices"))
        rss = med("reader_rss_mb")
        report.add(Figure(f"[{scale}] reader peak RSS (first screen)", rss, "MB",
                          "< 300 MB" if big else "", (rss or 999) < 300 if big else None))
        report.add(Figure(f"[{scale}] probe peak RSS (reader + all query runs)",
                          med("maxrss_mb"), "MB"))
        if built.url.startswith("sqlite"):
            size = Path(built.url.removeprefix("sqlite:///")).stat().st_size
            per_post = size / built.posts
            report.add(Figure(f"[{scale}] database bytes per post (raw JSON kept, "
                              "compressed)", per_post, "B/post", "<= 2,000" if big else "",
                              per_post <= 2_000 if big else None))
    small, big_ = firsts.get(10_000), firsts.get(1_000_000)
    if small and big_:
        ratio = big_ / small
        report.add(Figure(f"[{label}] reader first screen, 1M posts against 10k", ratio, "x",
                          "<= 1.15x", ratio <= 1.15,
                          note=f"{big_:.2f} s against {small:.2f} s, same run"))


# --------------------------------------------------------------------------- postgres


@contextmanager
def pg_schema() -> Iterator[str | None]:
    """A schema of its own on the local server (dropped afterwards), or None."""
    from tests.fakes.pgschema import scratch_schema

    with ExitStack() as stack:
        try:
            url = stack.enter_context(scratch_schema(PG_URL, prefix="bench"))
        except Exception as exc:
            print(f"  PostgreSQL skipped: {PG_URL} unreachable ({str(exc).splitlines()[0]})")
            yield None
            return
        yield url


def bench_postgres(report: Report, n_ingest: int, n_read: int, runs: int) -> None:
    from bench.ingest import ingest_ours

    print(f"\n== PostgreSQL: ingest {n_ingest:,}; reads on {n_read:,} copied from SQLite",
          flush=True)
    statuses = generate_statuses(n_ingest)
    seconds = []
    for _ in range(runs):
        with pg_schema() as url:
            if url is None:
                report.add(Figure("PostgreSQL", None, "", note="server unreachable"))
                return
            took, _stored = ingest_ours(url, statuses)
            seconds.append(took)
    rate, rates = _rate(n_ingest, seconds)
    report.add(Figure("ingest PostgreSQL (normalize+classify+store+tsvector)", rate,
                      "posts/s", runs=rates))
    with pg_schema() as url:
        assert url is not None
        bench_reads(report, url, [n_read], runs, "pg", copied=copy_to(url, n_read))


def copy_to(url: str, n: int) -> Built:
    """The cached SQLite bench archive of `n` posts copied into `url` by `rounds db copy`
    (what a team that outgrows SQLite runs), timed."""
    from aggregator.storage.copy import copy_database
    from aggregator.storage.db import open_database

    source = build_db(None, n)
    src, dst = open_database(source.url), open_database(url)
    try:
        started = time.perf_counter()
        counts = copy_database(src, dst)
        seconds = time.perf_counter() - started
    finally:
        src.dispose()
        dst.dispose()
    wrong = {t: c for t, c in counts.items() if c[0] != c[1]}
    if wrong:
        raise SystemExit(f"db copy lost rows: {wrong}")
    return Built(url, counts["posts"][1], seconds, False)


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="10k posts only (smoke run)")
    parser.add_argument("--runs", type=int, default=None, help="runs per figure")
    parser.add_argument("--ingest", type=int, default=None, metavar="N",
                        help="statuses for the bulk ingest figures (default 1,000,000; "
                             "--quick 10,000)")
    parser.add_argument("--only", choices=["ingest", "import", "collect", "bluesky", "read",
                                           "pg"],
                        action="append", help="run only these parts (repeatable)")
    args = parser.parse_args(argv)
    quick = args.quick
    runs = args.runs or (2 if quick else 3)
    parts = set(args.only or ["ingest", "import", "collect", "bluesky", "read", "pg"])
    report = Report()
    print(f"machine: {report.machine()}")
    if "ingest" in parts:
        bench_ingest(report, args.ingest or (10_000 if quick else 1_000_000),
                     1 if not quick and not args.ingest else runs,
                     10_000 if quick else 100_000)
    if "import" in parts:
        from bench.importing import bench_import

        bench_import(report, 10_000 if quick else 100_000, runs)
    if "collect" in parts:
        bench_collect(report, 50, 200 if quick else 2000, runs if quick else 1)
    if "bluesky" in parts:
        bench_bluesky(report, 20, 250 if quick else 1000, runs if quick else 2)
    if "read" in parts:
        bench_reads(report, None, [10_000] if quick else [10_000, 100_000, 1_000_000],
                    runs, "sqlite")
    if "pg" in parts:
        # One ingest run at 100k: PostgreSQL ingest alone takes about a minute here; the
        # read figures on the 1M archive copied over (about six minutes of copying).
        bench_postgres(report, 10_000 if quick else 100_000,
                       10_000 if quick else 1_000_000, 1 if not quick else 2)
    print("\n" + report.table())
    for note in report.notes:
        print(f"note: {note}")
    out = OUT / "results.json"
    report.write(out, "quick" if quick else "full")
    print(f"\n{len(report.figures)} figures in {report.machine()['nproc']}-core run; "
          f"written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
