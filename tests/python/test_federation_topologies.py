"""Federation (issue 18) in a line A–B–C, a ring of three and a full mesh of
four, each engine on a host of its own (tests/python/fedlab.py): the Python
plugin on A publishes N events, and each other site's subscriber — the
actor plugin on B, the Python plugin on every other — gets exactly N, in
order, whatever the number of paths (each engine deduplicates)."""

from __future__ import annotations

import pytest

from conftest import eventually
from fedlab import lab, shape  # noqa: F401 (fixture)

N = 1000

SHAPES = {
    "line": ("ABC", [("A", "B"), ("B", "C")]),
    "ring": ("ABC", [("A", "B"), ("B", "C"), ("C", "A")]),
    "mesh": ("ABCD", [("A", "B"), ("A", "C"), ("A", "D"), ("B", "C"),
                      ("B", "D"), ("C", "D")]),
}


@pytest.mark.parametrize("name", SHAPES)
def test_each_subscriber_gets_each_event_once_in_order(lab, name):
    sites, links = SHAPES[name]
    shape(lab, sites, links, N)
    lab.start_all()
    lab.wait_up()
    lab.sync()
    lab.allow("A", N)
    recorders = [s for s in sites if s not in "AB"]
    for s in recorders:
        assert lab.wait_data(s, N) == list(range(1, N + 1)), s
    assert lab.wait_counted("B", N) == (
        f"from A: {N} reached, {N} events, 0 out of order")
    stats = {s: lab.stop(s) for s in sites}  # the sources first
    # Nothing came later either: no copy by a second path, no repeat.
    for s in recorders:
        assert lab.sites[s].data() == list(range(1, N + 1)), s
    assert "out of order" not in lab.sites["B"].output().replace(
        "0 out of order", "")
    fed = stats["A"]["federation"]
    assert fed["name"] == "A" and fed["refused"] == 0
    neighbours = {b if a == "A" else a for a, b in links if "A" in (a, b)}
    assert set(fed["peers"]) >= neighbours, fed
    # Each event left A at least once, reached B at least once (in a ring
    # or a mesh, a link may carry a copy that another path delivered).
    assert sum(p["forwarded"] for p in fed["peers"].values()) >= N, fed
    assert sum(p["received"] for p in
               stats["B"]["federation"]["peers"].values()) >= N, stats["B"]
    for s in sites:
        for peer, p in stats[s]["federation"]["peers"].items():
            assert p["dropped"] == 0, (s, peer, p)


def test_peer_lifecycle_events_and_log_lines(lab):
    lab.site("A", publish=1, record=["ee.lifecycle.peer_"])
    lab.site("B", record=True)
    lab.link("A", "B")
    lab.start_all()
    lab.wait_up()
    a = lab.sites["A"]
    a.engine.wait_for_output(r"federation: listening on \S+:\d+")
    b_address = f"{lab.sites['B'].address_for('A')}:{lab.sites['B'].port}"
    assert f"federation: peer B up ({b_address})" in a.output()
    eventually(lambda: b"ee.lifecycle.peer_up:B" in a.received(), 10,
               lambda: f"peer_up:B at A: {a.received()}")
    lab.stop("B")
    a.engine.wait_for_output(r"federation: peer B down: .+", 30)
    eventually(lambda: b"ee.lifecycle.peer_down:B" in a.received(), 10,
               lambda: f"peer_down:B at A: {a.received()}")
