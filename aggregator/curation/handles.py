"""Handle validation: what a curator may type or import as an account address.

Mastodon: ``user@domain`` (a leading ``@`` is tolerated, the domain is lowercased, the
username keeps its case). X: 1 to 15 word characters (letters, digits, underscore), written
``x:name`` or ``@name`` on the command line. Bluesky: a handle (a domain name, lowercased),
written ``bsky:name.bsky.social``, or the account's DID (``did:plc:...``, ``did:web:...``),
which never changes when the handle does. Feed (a voice's blog): the URL of its RSS or Atom
feed, ``https://…`` or ``feed:https://…`` (scheme and host lowercased, no fragment, never
a user:password part: identities are stored and exported). Anything else is a
CurationError that says what was expected; the forms the command line accepts are the rows
of HANDLE_FORMS.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from aggregator.collectors.bluesky.uris import is_did, is_handle
from aggregator.errors import CurationError
from aggregator.models import Network

_MASTODON_USER = re.compile(r"^[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?$")
_DOMAIN = re.compile(
    r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}(?::\d{1,5})?$"
)
_X_USER = re.compile(r"^[A-Za-z0-9_]{1,15}$")


def _shown(text: str) -> str:
    return repr(text[:80])


def normalize_mastodon(handle: str) -> str:
    """`@Alice@Example.Social` -> `Alice@example.social`; CurationError if not user@domain."""
    text = handle.strip()
    bare = text[1:] if text.startswith("@") else text
    user, sep, domain = bare.partition("@")
    if not sep or not user or not domain:
        raise CurationError(
            f"{_shown(handle)} is not a Mastodon address: expected user@domain "
            "(like alice@mastodon.social)")
    domain = domain.lower()
    if not _MASTODON_USER.match(user):
        raise CurationError(f"{_shown(handle)}: the username part {_shown(user)} may only hold "
                            "letters, digits, underscores, dots and dashes")
    if not _DOMAIN.match(domain):
        raise CurationError(f"{_shown(handle)}: {_shown(domain)} is not a domain name")
    return f"{user}@{domain}"


def normalize_x(handle: str) -> str:
    """`@DrAlice` -> `DrAlice`; CurationError unless 1-15 letters, digits or underscores."""
    text = handle.strip()
    bare = text[1:] if text.startswith("@") else text
    if not _X_USER.match(bare):
        raise CurationError(f"{_shown(handle)} is not an X username: expected 1 to 15 letters, "
                            "digits or underscores (like DrAlice_MD)")
    return bare


def normalize_bluesky(handle: str) -> str:
    """`@Alice.bsky.social` -> `alice.bsky.social`; a `did:plc:`/`did:web:` DID as is."""
    text = handle.strip()
    bare = text[1:] if text.startswith("@") else text
    if bare.startswith("did:"):
        if bare.startswith(("did:plc:", "did:web:")) and is_did(bare) and len(bare) <= 64:
            return bare
        raise CurationError(f"{_shown(handle)} is not a Bluesky DID: expected did:plc:... or "
                            "did:web:...")
    if not is_handle(bare):
        raise CurationError(f"{_shown(handle)} is not a Bluesky handle: expected a domain "
                            "name (like alice.bsky.social or cdc.gov)")
    return bare.lower()


MAX_FEED_URL = 512  # identities.handle
# profile pages people paste by mistake for a feed: the account form they meant
_PROFILE_HOSTS = {"x.com": "x:name", "twitter.com": "x:name", "www.x.com": "x:name",
                  "www.twitter.com": "x:name", "bsky.app": "bsky:handle"}


_USERINFO = re.compile(r"//[^/?#]*@")


def normalize_feed(url: str) -> str:
    """`HTTPS://Blog.Example.org/feed.xml#top` -> `https://blog.example.org/feed.xml`.
    Errors never repeat a user:password part of the URL."""
    text = url.strip()
    bare = text[5:] if text.lower().startswith("feed:") else text
    said = _shown(_USERINFO.sub("//…@", url, count=1))
    try:
        parts = urlsplit(bare)
        port = parts.port
    except ValueError:
        raise CurationError(f"{said} is not a feed URL") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise CurationError(f"{said} is not a feed URL: expected https://… (the address "
                            "of an RSS or Atom feed)")
    if parts.username is not None or parts.password is not None:
        raise CurationError(f"{said}: a feed URL with a user or password is refused "
                            "(identities are stored and exported)")
    host = parts.hostname.lower()
    if host in _PROFILE_HOSTS:
        raise CurationError(f"{said} is a profile page, not a feed: write "
                            f"{_PROFILE_HOSTS[host]}")
    if parts.path.startswith("/@") and "/" not in parts.path[2:].rstrip("/"):
        user = parts.path[2:].rstrip("/")
        raise CurationError(f"{said} is a Mastodon profile page, not a feed: write "
                            f"{user}@{host}, or feed:{bare.split('#')[0]}.rss for its feed")
    netloc = host if port is None else f"{host}:{port}"
    shown = urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", parts.query, ""))
    if len(shown) > MAX_FEED_URL:
        raise CurationError(f"{said}: a feed URL longer than {MAX_FEED_URL} characters")
    return shown


def normalize_handle(network: Network, handle: str) -> str:
    if network == "bluesky":
        return normalize_bluesky(handle)
    if network == "feed":
        return normalize_feed(handle)
    return normalize_mastodon(handle) if network == "mastodon" else normalize_x(handle)


@dataclass(frozen=True, slots=True)
class HandleForm:
    """One way of writing an account on the command line: `matches` says whether the text is
    written this way, `normalize` turns the text into the stored handle."""

    shown: str  # as listed in the error for text that matches no form
    network: Network
    matches: Callable[[str], bool]
    normalize: Callable[[str], str]


def _after_prefix(text: str) -> str:
    return text.split(":", 1)[1]


# Order matters: the first form whose `matches` holds decides. A new network adds its rows
# here, as Bluesky did (`bsky:HANDLE`, `did:...`). A bare word matches nothing on
# purpose: `alice` could be an X username, a Mastodon local user or a typo, and guessing
# silently created voices on the wrong network.
HANDLE_FORMS: tuple[HandleForm, ...] = (
    HandleForm("https://… or feed:https://… (a feed)", "feed",
               lambda t: t.lower().startswith(("feed:", "http://", "https://")), normalize_feed),
    HandleForm("bsky:handle", "bluesky", lambda t: t.lower().startswith(("bsky:", "bluesky:")),
               lambda t: normalize_bluesky(_after_prefix(t))),
    HandleForm("did:plc:... (Bluesky)", "bluesky", lambda t: t.startswith("did:"),
               normalize_bluesky),
    HandleForm("x:name", "twitter", lambda t: t.lower().startswith(("x:", "twitter:")),
               lambda t: normalize_x(_after_prefix(t))),
    HandleForm("mastodon:user@domain", "mastodon", lambda t: t.lower().startswith("mastodon:"),
               lambda t: normalize_mastodon(_after_prefix(t))),
    HandleForm("user@domain or @user@domain (Mastodon)", "mastodon",
               lambda t: "@" in t.lstrip("@"), normalize_mastodon),
    HandleForm("@name (X)", "twitter", lambda t: t.startswith("@"), normalize_x),
)
ACCEPTED = ("user@domain or @user@domain (Mastodon), x:name or @name (X), bsky:handle or "
            "did:plc:... (Bluesky), https://… (a blog's feed), #ID (a voice)")


def parse_handle(text: str) -> tuple[Network, str]:
    """The network and normalized handle for an account as typed, by the first matching row
    of HANDLE_FORMS. Raises CurationError listing the accepted forms for anything else."""
    raw = text.strip()
    for form in HANDLE_FORMS:
        if form.matches(raw):
            return form.network, form.normalize(raw)
    raise CurationError(f"{_shown(text)} is not an account: write {ACCEPTED}")
