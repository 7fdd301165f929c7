"""Handle validation: what a curator may type or import as an account address.

Mastodon: ``user@domain`` (a leading ``@`` is tolerated, the domain is lowercased, the
username keeps its case). X: 1 to 15 word characters (letters, digits, underscore), a
leading ``@`` tolerated. Anything else is a CurationError that says what was expected.
"""

from __future__ import annotations

import re

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


def normalize_handle(network: Network, handle: str) -> str:
    return normalize_mastodon(handle) if network == "mastodon" else normalize_x(handle)


def parse_handle(text: str) -> tuple[Network, str]:
    """Guess the network from the form: `user@domain` is Mastodon, `x:name` or a bare
    `@name`/`name` is X. Raises CurationError naming both accepted forms."""
    raw = text.strip()
    if raw.lower().startswith(("x:", "twitter:")):
        return "twitter", normalize_x(raw.split(":", 1)[1])
    if raw.lower().startswith("mastodon:"):
        return "mastodon", normalize_mastodon(raw.split(":", 1)[1])
    if "@" in raw.lstrip("@"):
        return "mastodon", normalize_mastodon(raw)
    try:
        return "twitter", normalize_x(raw)
    except CurationError:
        raise CurationError(
            f"{_shown(text)} is neither a Mastodon address (user@domain) nor an X username "
            "(1 to 15 letters, digits or underscores)") from None
