"""grandrounds: curated Mastodon, X and Bluesky lists of health-care voices, archived and
read by topic."""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__"]
