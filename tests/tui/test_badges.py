"""Each network's posts carry their own badge in the list (a `?` said "unknown network")."""

from __future__ import annotations

from aggregator.models import NETWORKS
from tui.widgets.post_row import badge


def test_every_network_has_its_own_badge() -> None:
    labels = [badge(network).plain.strip() for network in NETWORKS]
    assert "?" not in labels
    assert len(set(labels)) == len(NETWORKS)
    assert badge("gopher").plain.strip() == "?"  # an archive from a newer version
