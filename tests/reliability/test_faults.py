"""Server faults through the loopback fakes, on every network, on a first run (backfill)
and on a later run (forward from a cursor).

Feeds take part in every scenario that can happen to a feed; the paging ones (a next
link, pages going back in time, a failure after the first page) are not generated for
them: a feed is one document per pass, with no pages (`Scenario.not_for` says why).

For every fault: retries are bounded (requests counted on the fake, waits on the
ManualClock), the pass ends, the faulty source reports one clear error (or recovers),
the healthy source of the same pass is unaffected, and once the server heals a rerun
holds every post of both sources exactly once.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest

from tests.fakes.bluesky import xrpc_error
from tests.fakes.feeds import JSON_FEED, RSS, rss
from tests.fakes.server import Reply, Request
from tests.fakes.twitter import problem
from tests.reliability.conftest import NETWORKS, POLICY, Twist, World, closed_port_url

ATTEMPTS = POLICY.attempts
RATE_TRIES = POLICY.rate_limit_waits + 1


# ------------------------------------------------------------------ fault replies


def too_many(w: World, reset_in: float | None) -> Reply:
    if w.network == "feed":  # web servers say Retry-After (seconds), or nothing
        return Reply(429, b"<html><body>Too Many Requests</body></html>",
                     {"Content-Type": "text/html"} if reset_in is None else
                     {"Content-Type": "text/html", "Retry-After": str(int(reset_in))})
    if w.network == "bluesky":
        headers = {} if reset_in is None else {
            "RateLimit-Limit": "3000", "RateLimit-Remaining": "0", "RateLimit-Policy": "3000;w=300",
            "RateLimit-Reset": str(int((w.clock.now() + timedelta(seconds=reset_in))
                                       .timestamp()))}
        return xrpc_error(429, "RateLimitExceeded", "Rate Limit Exceeded", **headers)
    if w.network == "mastodon":
        if reset_in is not None:
            return w.fake.rate_limited(reset_in)
        return Reply.json({"error": "Too many requests"}, 429)
    reply = problem(429, "Too Many Requests", "Too Many Requests")
    if reset_in is not None:
        reset = int((w.clock.now() + timedelta(seconds=reset_in)).timestamp())
        reply.headers.update({"x-rate-limit-limit": "900", "x-rate-limit-remaining": "0",
                              "x-rate-limit-reset": str(reset)})
    return reply


def server_error(status: int) -> Callable[[World], Reply]:
    def make(w: World) -> Reply:
        if w.network == "feed":
            return Reply(status, b"<html><body><h1>Server Error</h1></body></html>",
                         {"Content-Type": "text/html"})
        if w.network == "bluesky":
            return xrpc_error(status, "InternalServerError", "Internal Server Error")
        if w.network == "mastodon":
            return Reply.json({"error": "Something went wrong"}, status)
        return problem(status, "Service Unavailable", "Overloaded")
    return make


def cut_mid_body(w: World) -> Reply:
    if w.network == "feed":
        doc = rss("Cut short", [{"guid": f"urn:x:cut:{i}", "description": "<p>x</p>" * 50}
                                for i in range(20)])
        return Reply(200, doc, {"Content-Type": RSS}, truncate=len(doc) // 3)
    body = [{"id": str(10**17 + i), "content": "<p>x</p>" * 50} for i in range(20)]
    data = json.dumps(body if w.network == "mastodon" else {"data": body}).encode()
    return Reply(200, data, {"Content-Type": "application/json"}, truncate=len(data) // 3)


def truncated_json(w: World) -> Reply:
    if w.network == "feed":  # a JSON Feed cut short
        return Reply(200, b'{"version": "https://jsonfeed.org/version/1.1", "items": [{"id": "1',
                     {"Content-Type": JSON_FEED})
    return Reply(200, b'[{"id": "1170206' if w.network == "mastodon" else b'{"data": [{"id": "19',
                 {"Content-Type": "application/json"})


def malformed_json(w: World) -> Reply:
    return Reply(200, b'{"data": [,], "meta": }', {"Content-Type": "application/json"})


def html_200(w: World) -> Reply:
    return Reply(200, b"<!DOCTYPE html><html><head><style>h1{}</style></head><body>"
                      b"<h1>We'll be right back</h1><script>alert(1)</script></body></html>",
                 {"Content-Type": "text/html; charset=utf-8"})


# ------------------------------------------------------------------ twisted answers


def _with_query(req: Request, **changes: str | None) -> Request:
    query = {k: list(v) for k, v in req.query.items()}
    for name, value in changes.items():
        query.pop(name, None)
        if value is not None:
            query[name] = [value]
    return dataclasses.replace(req, query=query)


def _x_rewrite(reply: Reply, next_token: str | None) -> Reply:
    body = json.loads(reply.body)
    body.setdefault("meta", {})
    if next_token is None:
        body["meta"].pop("next_token", None)
    else:
        body["meta"]["next_token"] = next_token
    return Reply.json(body, reply.status, **reply.headers)


def _sky_rewrite(reply: Reply, cursor: str) -> Reply:
    body = json.loads(reply.body)
    body["cursor"] = cursor
    return Reply.json(body, reply.status, **reply.headers)


def empty_page_with_next(w: World) -> Twist:
    def twist(req: Request, inner: Callable[[Request], Reply]) -> Reply:
        if w.network == "bluesky":
            return Reply.json({"feed": [], "cursor": "still-more"})
        if w.network == "mastodon":
            url = f"http://{req.headers.get('host')}{req.path}?max_id=1"
            return Reply.json([], Link=f'<{url}>; rel="next"')
        return Reply.json({"meta": {"result_count": 0, "next_token": "still-more"}})
    return twist


def repeating_next(w: World) -> Twist:
    """Every answer is the newest page again, pointing 'next' at itself."""
    def twist(req: Request, inner: Callable[[Request], Reply]) -> Reply:
        if w.network == "bluesky":
            return _sky_rewrite(inner(_with_query(req, cursor=None)), "same-cursor")
        if w.network == "mastodon":
            reply = inner(_with_query(req, max_id=None, min_id=None, since_id=None))
            url = f"http://{req.headers.get('host')}{req.path}"
            reply.headers["Link"] = f'<{url}?max_id=999999999999999999999>; rel="next"'
            return reply
        return _x_rewrite(inner(_with_query(req, pagination_token=None)), "same-token")
    return twist


def back_in_time(w: World) -> Twist:
    """Pages run the wrong way: asked for newer posts it sends older ones, asked for older
    ones it sends the newest again (with a fresh 'next' each time)."""
    tokens = itertools.count(1)

    def twist(req: Request, inner: Callable[[Request], Reply]) -> Reply:
        if w.network == "bluesky":  # only pages backwards: the newest page again, a new cursor
            return _sky_rewrite(inner(_with_query(req, cursor=None)), f"fresh-{next(tokens)}")
        if w.network == "mastodon":
            if req.arg("min_id"):
                return inner(_with_query(req, min_id=None, max_id=req.arg("min_id")))
            return inner(_with_query(req, max_id=None))
        return _x_rewrite(inner(_with_query(req, pagination_token=None)),
                          f"fresh-{next(tokens)}")
    return twist


def fails_after_first_page(w: World) -> Twist:
    served = itertools.count()

    def twist(req: Request, inner: Callable[[Request], Reply]) -> Reply:
        if next(served) == 0:
            return inner(req)
        return server_error(500)(w)
    return twist


# ------------------------------------------------------------------ scenarios


@dataclass(frozen=True)
class Scenario:
    name: str
    setup: Callable[[World], None]
    fails: bool  # the faulty source ends with an error (else: it recovers)
    max_requests: int  # requests on the faulty path during the faulty pass
    error_has: str = ""  # a word the error message must contain
    min_sleep: float = 0.0  # the longest wait must be at least this (rate limits)
    feed_error_has: str | None = None  # what a feed's error says instead, when it differs
    not_for: tuple[tuple[str, str], ...] = ()  # (network, why the scenario cannot happen)

    def expected_error(self, network: str) -> str:
        return self.feed_error_has if network == "feed" and self.feed_error_has is not None \
            else self.error_has


PAGED = (("feed", "a feed is one document per pass: no pages, no next link"),)


def arm(make: Callable[[World], Reply], times: int = 50) -> Callable[[World], None]:
    return lambda w: w.arm(make(w), times)


def twisted(make: Callable[[World], Twist]) -> Callable[[World], None]:
    return lambda w: w.set_twist(make(w))


def refuse(w: World) -> None:
    w.faulty_base_url = closed_port_url()


def stall(w: World) -> None:
    w.timeout = 0.4
    w.arm(Reply(200, b"[]", delay=1.2), 50)


SCENARIOS = [
    Scenario("429 with a reset header, for ever", arm(lambda w: too_many(w, 30)), True,
             RATE_TRIES, "rate limited", 29),
    Scenario("429 with a reset header, once", arm(lambda w: too_many(w, 30), 1), False,
             ATTEMPTS + 6, min_sleep=29),
    Scenario("429 without reset headers, for ever", arm(lambda w: too_many(w, None)), True,
             RATE_TRIES, "rate limited", POLICY.default_rate_wait),
    Scenario("HTTP 500, for ever", arm(server_error(500)), True, ATTEMPTS, "500"),
    Scenario("HTTP 502, for ever", arm(server_error(502)), True, ATTEMPTS, "502"),
    Scenario("HTTP 503, for ever", arm(server_error(503)), True, ATTEMPTS, "503"),
    Scenario("HTTP 503, once", arm(server_error(503), 1), False, ATTEMPTS + 6),
    Scenario("timeout (server stalls)", stall, True, ATTEMPTS),
    Scenario("connection refused", refuse, True, 0),
    Scenario("connection reset, for ever", arm(lambda w: Reply(reset=True)), True, ATTEMPTS),
    Scenario("connection reset, once", arm(lambda w: Reply(reset=True), 1), False, ATTEMPTS + 6),
    Scenario("connection closed mid-body", arm(cut_mid_body), True, ATTEMPTS),
    Scenario("truncated JSON", arm(truncated_json), True, ATTEMPTS, "json"),
    Scenario("malformed JSON", arm(malformed_json), True, ATTEMPTS, "json"),
    Scenario("HTML error page with status 200", arm(html_200), True, ATTEMPTS, "json",
             feed_error_has="RSS or Atom"),
    Scenario("empty page with a next link", twisted(empty_page_with_next), False, 3,
             not_for=PAGED),
    Scenario("next link that repeats (loop)", twisted(repeating_next), False, 12,
             not_for=PAGED),
    Scenario("page that goes back in time", twisted(back_in_time), False, 45, not_for=PAGED),
    Scenario("HTTP 500 after the first page", twisted(fails_after_first_page), True,
             1 + ATTEMPTS, "500", not_for=PAGED),
]
CASES = [(network, s) for s in SCENARIOS for network in NETWORKS
         if network not in dict(s.not_for)]


@pytest.mark.parametrize("phase", ["first run", "later run"])
@pytest.mark.parametrize(("world", "scenario"), CASES, indirect=["world"],
                         ids=[f"{n}-{s.name}" for n, s in CASES])
def test_server_fault(world: World, scenario: Scenario, phase: str) -> None:
    """Server fault"""
    w = world
    if phase == "later run":
        first = w.collect()
        assert all(r.ok for r in first.values()), first
        w.add_posts(w.faulty_key, 150)
        w.add_posts(w.healthy_key, 20)
    w.server.reset()
    sleeps_before = len(w.clock.sleeps)
    scenario.setup(w)

    results = w.collect()

    faulty, healthy = results["faulty"], results["healthy"]
    assert healthy.ok, f"the healthy source suffered: {healthy.error}"
    assert sorted(w.stored_ids("healthy")) == sorted(w.timeline_ids(w.healthy_key))
    assert w.faulty_requests() <= scenario.max_requests, "retries are not bounded"
    sleeps = w.clock.sleeps[sleeps_before:]
    assert len(sleeps) <= ATTEMPTS + RATE_TRIES + 2, sleeps
    assert sum(sleeps) <= 3 * POLICY.max_rate_wait
    if scenario.min_sleep:
        assert max(sleeps) >= scenario.min_sleep, sleeps
    if scenario.fails:
        error = faulty.error or ""
        assert error.startswith(f"{w.network}: "), error
        assert "\n" not in error and "Traceback" not in error and "internal error" not in error
        assert scenario.expected_error(w.network).lower() in error.lower(), error
        assert w.last_error("faulty") == error
    else:
        assert faulty.ok, faulty.error
    ids = w.stored_ids("faulty")
    assert len(ids) == len(set(ids)), "a post was stored twice"

    w.heal()
    again = w.collect()
    assert again["faulty"].ok, again["faulty"].error
    assert sorted(w.stored_ids("faulty")) == sorted(w.timeline_ids(w.faulty_key)), \
        "a post was lost or duplicated"
    assert sorted(w.stored_ids("healthy")) == sorted(w.timeline_ids(w.healthy_key))
    assert w.post_count() == len(w.timeline_ids(w.faulty_key) | w.timeline_ids(w.healthy_key))
