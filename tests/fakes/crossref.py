"""A fake of Crossref's REST API `GET /works/{doi}` (https://api.crossref.org/swagger-ui/),
answering as Crossref does: the work as `{"status": "ok", "message-type": "work",
"message": {...}}` (titles as a list, JATS markup inside), rate-limit headers, and for a
DOI it does not know `404` with the plain text body "Resource not found.".

Shapes written after Crossref's documentation and its public answers (see
tests/data/crossref/PROVENANCE.md); the works are fictional (the 10.5555 test prefix).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from tests.fakes.server import Reply, Request

DATA = Path(__file__).parent.parent / "data" / "crossref"
HEADERS = {"x-rate-limit-limit": "50", "x-rate-limit-interval": "1s",
           "access-control-allow-origin": "*"}


def work_message(doi: str, title: str) -> dict[str, Any]:
    """A work as /works/{doi} sends it, from the recorded shape, with this DOI and title."""
    body: dict[str, Any] = json.loads((DATA / "works_doi.json").read_text(encoding="utf-8"))
    body["message"] = {**body["message"], "DOI": doi, "title": [title],
                       "URL": f"https://doi.org/{doi}"}
    return body


class Crossref:
    """Knows `works` (DOI, any case -> title); every other DOI is not found."""

    def __init__(self, works: dict[str, str]) -> None:
        self.works = {doi.lower(): (doi, title) for doi, title in works.items()}

    def __call__(self, req: Request) -> Reply:
        if req.method != "GET" or not req.path.startswith("/works/"):
            return Reply(404, b"Resource not found.", {"Content-Type": "text/plain"})
        doi = unquote(req.path.removeprefix("/works/"))
        found = self.works.get(doi.lower())
        if found is None:
            return Reply(404, b"Resource not found.",
                         {"Content-Type": "text/plain;charset=utf-8", **HEADERS})
        return Reply.json(work_message(*found), **HEADERS)
