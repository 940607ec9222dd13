"""Helpers of the bridge's integration tests (test_bridge.py,
test_bridge_bad_input.py): waiting for subscriptions and events, and
watching that nothing arrives."""

from __future__ import annotations

import time
from typing import Callable, List, Sequence

import pytest

from conftest import (
    eventually,
    NEXT,
    WAIT_S,
    next_msg,
    poll_readable,
    publish_ok,
    recv_until,
    sync_subs,
)

zmq = pytest.importorskip("zmq")


#: Prefix of the events the tests publish only to wait for ZeroMQ
#: subscriptions to propagate; skipped when comparing what arrived.
PROBE = b"Probe"

#: How long "nothing arrives" is watched for.
QUIET_S = 0.3


# -- helpers -------------------------------------------------------------------------


def sync_raw_subs(subs: Sequence["zmq.Socket"], src_req: "zmq.Socket") -> List[bytes]:
    """Publishes probe events through the plugin socket ``src_req`` until every
    raw SUB in ``subs`` (each subscribed to ``PROBE`` too) got one. Returns
    the probes published."""
    sent: List[bytes] = []

    def probe() -> None:
        ev = PROBE + str(len(sent)).encode()
        publish_ok(src_req, ev)
        sent.append(ev)

    sync_subs(list(subs), probe, lambda m: m.startswith(PROBE))
    return sent


def sub_events_until(sub: "zmq.Socket", last: bytes,
                     timeout_s: float = WAIT_S) -> List[bytes]:
    """What a raw SUB receives up to ``last``, without probes."""
    return [m for m in recv_until(sub, last, timeout_s) if not m.startswith(PROBE)]


def plugin_events_until(req: "zmq.Socket", last: bytes, limit: int = 10000) -> List[bytes]:
    """What a plugin's next_msg requests return up to ``last``, without
    probes (the socket's RCVTIMEO bounds each wait)."""
    got: List[bytes] = []
    for _ in range(limit):
        try:
            ev = next_msg(req)
        except zmq.Again:
            raise AssertionError(f"{last!r} not delivered; got {got[-20:]!r}") from None
        if ev.startswith(PROBE):
            continue
        got.append(ev)
        if ev == last:
            return got
    raise AssertionError(f"{last!r} not among the first {limit} events")


def assert_no_event(req: "zmq.Socket", timeout_s: float = QUIET_S) -> None:
    """Sends next_msg and asserts that no reply comes within ``timeout_s``.
    The request stays outstanding: use the socket only with REQ_RELAXED
    afterwards, or close it."""
    req.send(NEXT)
    if poll_readable(req, timeout_s):
        raise AssertionError(f"unexpected event {req.recv()!r}")


def assert_sub_quiet(sub: "zmq.Socket", timeout_s: float = QUIET_S) -> None:
    end = time.monotonic() + timeout_s
    while True:
        left = end - time.monotonic()
        if left <= 0 or not poll_readable(sub, left):
            return
        msg = sub.recv()
        assert msg.startswith(PROBE), f"unexpected event {msg!r}"


def wait_until(cond: Callable[[], bool], timeout_s: float, what: str) -> None:
    eventually(cond, timeout_s, what)
