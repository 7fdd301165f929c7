"""Download one image: http(s) only, a size cap enforced before and while reading, a
timeout, and a look at the first bytes so that an HTML error page is not handed to the
decoder. Every failure is a MediaError with one line naming the host and the reason."""

from __future__ import annotations

from urllib.parse import urlsplit

import requests

from aggregator.errors import MediaError
from aggregator.textutil import size_text, terminal_safe

MAX_BYTES = 10 * 1024 * 1024
TIMEOUT = 20.0  # seconds to connect, and between two reads
MAX_REDIRECTS = 5
CHUNK = 64 * 1024
ACCEPT = "image/png, image/jpeg, image/gif, image/webp;q=0.9, */*;q=0.1"
MAGIC = (  # (offset, bytes, name): what the decoder is willing to open
    (0, b"\x89PNG\r\n\x1a\n", "PNG"),
    (0, b"\xff\xd8\xff", "JPEG"),
    (0, b"GIF87a", "GIF"),
    (0, b"GIF89a", "GIF"),
    (8, b"WEBP", "WebP"),
)


def sniff(head: bytes) -> str | None:
    """The image format the first bytes announce (PNG, JPEG, GIF, WebP), or None."""
    for offset, magic, name in MAGIC:
        if head[offset:offset + len(magic)] == magic and (name != "WebP"
                                                           or head[:4] == b"RIFF"):
            return name
    return None


def shown_url(url: str, limit: int = 120) -> str:
    text = terminal_safe(url).replace("\n", " ")
    return text if len(text) <= limit else text[:limit] + "…"


class ImageFetcher:
    def __init__(self, *, max_bytes: int = MAX_BYTES, timeout: float = TIMEOUT,
                 user_agent: str = "grandrounds") -> None:
        self.max_bytes = max_bytes
        self.timeout = timeout
        self.session = requests.Session()
        self.session.max_redirects = MAX_REDIRECTS
        self.session.headers.update({"User-Agent": user_agent, "Accept": ACCEPT})

    def close(self) -> None:
        self.session.close()

    def download(self, url: str) -> bytes:
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise MediaError(f"image not fetched: {shown_url(url)} is not an http(s) URL")
        host = parts.hostname
        try:
            response = self.session.get(url, timeout=self.timeout, stream=True)
        except requests.Timeout:
            raise MediaError(f"image not fetched: {host} did not answer in time") from None
        except requests.TooManyRedirects:
            raise MediaError(f"image not fetched: {host} redirected more than "
                             f"{MAX_REDIRECTS} times") from None
        except requests.RequestException as exc:
            raise MediaError(f"image not fetched: cannot reach {host} "
                             f"({type(exc).__name__})") from None
        with response:
            return self._read(response, host)

    def _read(self, response: requests.Response, host: str) -> bytes:
        if response.status_code != 200:
            raise MediaError(f"image not fetched: {host} answered HTTP {response.status_code}")
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise MediaError(f"image refused: {size_text(int(declared))} from {host} is over "
                             f"the {size_text(self.max_bytes)} limit")
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in response.iter_content(CHUNK):
                size += len(chunk)
                if size > self.max_bytes:  # Content-Length absent or wrong
                    raise MediaError(f"image refused: more than {size_text(self.max_bytes)} "
                                     f"from {host} (the limit)")
                if not chunks and sniff(chunk[:16]) is None and len(chunk) >= 12:
                    raise self._not_an_image(response, host)
                chunks.append(chunk)
        except requests.RequestException as exc:
            raise MediaError(f"image not fetched: the download from {host} broke off "
                             f"({type(exc).__name__})") from None
        data = b"".join(chunks)
        if sniff(data[:16]) is None:
            raise self._not_an_image(response, host)
        return data

    @staticmethod
    def _not_an_image(response: requests.Response, host: str) -> MediaError:
        kind = shown_url(response.headers.get("Content-Type", "") or "no content type", 60)
        return MediaError(f"image not shown: {host} sent something that is not a PNG, JPEG, "
                          f"GIF or WebP image ({kind})")
