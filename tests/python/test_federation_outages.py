"""Federation (issue 18) through outages, in a line A–B–C of hosts made by
the test (tests/python/fedlab.py): the A–B link down for seconds in the
middle of the stream (store and forward: exactly N at C; with a small
buffer_bytes the oldest are dropped, counted and logged, and received +
dropped == N), and B killed with SIGKILL and restarted (exactly N at C, no
duplicates: what was in flight is resent and deduplicated)."""

from __future__ import annotations

import re
from typing import List

from conftest import eventually
from fedlab import (DOWN_WAIT_S, FED_WAIT_S, Lab, Site,  # noqa: F401
                    lab, shape)

N = 1500
THIRD = N // 3
#: The publisher's pause between events when B is killed mid-stream.
PACE_S = 0.002
#: A's buffer_bytes in the test of drops: a few hundred events.
SMALL = 4096
DROPPED_FOR_B = r"federation: dropped (\d+) events for peer B \(buffer_bytes\)"


def line(lab: Lab) -> Lab:
    """A publishes N (and records its peer lifecycle events), B counts,
    C records; A dials B, B dials C."""
    shape(lab, "ABC", [("A", "B"), ("B", "C")], N)
    lab.sites["A"].roles["record"] = ["ee.lifecycle.peer_"]
    return lab


def first_third(lab: Lab) -> None:
    lab.wait_up()
    lab.sync()
    lab.allow("A", THIRD)
    lab.wait_data("C", THIRD)


def up_again(s: Site) -> None:
    """Waits until site ``s`` logged B up for the second time."""
    eventually(lambda: s.count(r"federation: peer B up") >= 2, FED_WAIT_S,
               lambda: f"B up again at {s.name}; output:\n{s.output()}")


def in_order(seqs: List[int]) -> bool:
    return all(x < y for x, y in zip(seqs, seqs[1:]))


def test_a_link_down_for_seconds_mid_stream_loses_nothing(lab):
    line(lab).start_all()
    first_third(lab)
    a_b = lab.links[0]
    lab.partition(a_b)
    a = lab.sites["A"]
    a.engine.wait_for_output(r"federation: peer B down: .+", DOWN_WAIT_S)
    lab.allow("A", 2 * THIRD)  # published while the link is down
    lab.wait_published("A", 2 * THIRD)
    lab.partition(a_b, up=True)
    up_again(a)
    lab.allow("A", N)
    assert lab.wait_data("C", N, timeout=60) == list(range(1, N + 1))
    assert lab.wait_counted("B", N) == (
        f"from A: {N} reached, {N} events, 0 out of order")
    lifecycle = [x for x in a.received() if x.startswith(b"ee.lifecycle.")]
    assert b"ee.lifecycle.peer_down:B" in lifecycle, lifecycle
    stats = {s: lab.stop(s) for s in "ABC"}
    assert lab.sites["C"].data() == list(range(1, N + 1))
    peer_b = stats["A"]["federation"]["peers"]["B"]
    assert peer_b["dropped"] == 0 and peer_b["forwarded"] >= N, peer_b


def test_with_a_small_buffer_the_oldest_are_dropped_and_counted(lab):
    line(lab)
    lab.start("C")
    lab.start("B")
    # A last: its probes wait for B's subscriptions only briefly, so the
    # small buffer drops nothing before the outage.
    lab.start("A", buffer_bytes=SMALL)
    first_third(lab)
    a = lab.sites["A"]
    assert DROPPED_FOR_B not in a.output()
    a_b = lab.links[0]
    lab.partition(a_b)
    a.engine.wait_for_output(r"federation: peer B down: .+", DOWN_WAIT_S)
    lab.allow("A", 2 * THIRD)  # THIRD x ~12 bytes: more than SMALL
    lab.wait_published("A", 2 * THIRD)
    a.engine.wait_for_output(DROPPED_FOR_B, FED_WAIT_S)
    lab.partition(a_b, up=True)
    up_again(a)
    lab.allow("A", N)  # the rest while the link is up: none dropped
    c = lab.sites["C"]
    eventually(lambda: c.data()[-1:] == [N], 60,
               lambda: f"the last event at C (now {c.data()[-3:]})")
    stats = {s: lab.stop(s) for s in "ABC"}
    received = c.data()
    assert in_order(received), received  # no repeat, no reordering
    dropped = stats["A"]["federation"]["peers"]["B"]["dropped"]
    logged = sum(int(n) for n in re.findall(DROPPED_FOR_B, a.output()))
    assert dropped > 0 and logged == dropped, (dropped, logged)
    assert len(received) + dropped == N, (len(received), dropped)
    # Only what was published during the outage can have been dropped.
    missing = set(range(1, N + 1)) - set(received)
    assert min(missing) > THIRD and max(missing) <= 2 * THIRD, sorted(missing)


def test_the_middle_engine_killed_and_restarted_mid_stream(lab):
    line(lab)
    lab.sites["A"].roles["pace"] = PACE_S  # a stream of N * PACE_S seconds
    lab.start_all()
    lab.wait_up()
    lab.sync()
    lab.allow("A", N)
    lab.wait_data("C", THIRD)
    lab.kill("B")  # SIGKILL: no goodbye, in-flight events unacknowledged
    assert lab.sites["A"].published() < N  # mid-stream indeed
    lab.start("B")
    for name in "AC":
        up_again(lab.sites[name])
    assert lab.wait_data("C", N, timeout=60) == list(range(1, N + 1))
    stats = {s: lab.stop(s) for s in "ABC"}
    assert lab.sites["C"].data() == list(range(1, N + 1))
    assert stats["A"]["federation"]["peers"]["B"]["dropped"] == 0
