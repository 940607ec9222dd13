"""Federation (issue 18) in a line A–B–C, a ring of three and a full mesh of
four, each engine on a host of its own (tests/python/fedlab.py): the Python
plugin on A publishes N events (in the mesh, D's too, at the same time),
and each other site's subscriber — the actor plugin on B, the Python
plugin on every other — gets exactly N of each origin, in order, whatever
the number of paths (each engine deduplicates)."""

from __future__ import annotations

import pytest

from conftest import eventually
from fedlab import lab, shape  # noqa: F401 (fixture)

N = 1000

# (sites, links, origins): A publishes; in the mesh D too, at once.
SHAPES = {
    "line": ("ABC", [("A", "B"), ("B", "C")], "A"),
    "ring": ("ABC", [("A", "B"), ("B", "C"), ("C", "A")], "A"),
    "mesh": ("ABCD", [("A", "B"), ("A", "C"), ("A", "D"), ("B", "C"),
                      ("B", "D"), ("C", "D")], "AD"),
}


@pytest.mark.parametrize("name", SHAPES)
def test_each_subscriber_gets_each_event_once_in_order(lab, name):
    sites, links, origins = SHAPES[name]
    shape(lab, sites, links, N)
    for o in origins[1:]:  # a recorder that publishes too
        lab.sites[o].roles["publish"] = N
    lab.start_all()
    lab.wait_up()
    for o in origins:
        lab.sync(o)
    for o in origins:
        lab.allow(o, N)
    everything = list(range(1, N + 1))
    recorders = [s for s in sites if s not in "AB"]
    for s in recorders:
        for o in origins:
            assert lab.wait_data(s, N, origin=o) == everything, (s, o)
    for o in origins:
        assert lab.wait_counted("B", N, origin=o) == (
            f"from {o}: {N} reached, {N} events, 0 out of order")
    stats = {s: lab.stop(s) for s in sites}  # the sources first
    # Nothing came later either: no copy by a second path, no repeat.
    for s in recorders:
        for o in origins:
            assert lab.sites[s].data(o) == everything, (s, o)
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
