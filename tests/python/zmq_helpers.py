"""Raw ZeroMQ sockets and the wire protocol's helpers for the integration
tests (conftest.py re-exports every name)."""

from __future__ import annotations

import time
from typing import Callable, List

try:
    import zmq
except ImportError:  # pragma: no cover - depends on the interpreter
    zmq = None  # type: ignore[assignment]

#: Bound on anything that should happen "at once" (seconds / milliseconds).
WAIT_S = 5.0
WAIT_MS = int(WAIT_S * 1000)


# -- ZeroMQ sockets ----------------------------------------------------------------


class Sockets:
    """Creates raw pyzmq sockets (LINGER 0, receive timeout) and closes them
    all in teardown."""

    def __init__(self) -> None:
        self.context = zmq.Context()
        self._sockets: List["zmq.Socket"] = []

    def _make(self, kind: int, timeout_ms: int) -> "zmq.Socket":
        s = self.context.socket(kind)
        s.setsockopt(zmq.LINGER, 0)
        s.setsockopt(zmq.RCVTIMEO, timeout_ms)
        s.setsockopt(zmq.SNDTIMEO, timeout_ms)
        self._sockets.append(s)
        return s

    def track(self, s: "zmq.Socket") -> "zmq.Socket":
        """Adopts a socket made elsewhere (e.g. by pyevents)."""
        s.setsockopt(zmq.LINGER, 0)
        self._sockets.append(s)
        return s

    def req(self, port: int, timeout_ms: int = WAIT_MS) -> "zmq.Socket":
        """A plain REQ socket (the original client's) on a plugin port."""
        s = self._make(zmq.REQ, timeout_ms)
        s.connect(f"tcp://127.0.0.1:{port}")
        return s

    def relaxed_req(self, port: int, timeout_ms: int = WAIT_MS) -> "zmq.Socket":
        s = self._make(zmq.REQ, timeout_ms)
        s.setsockopt(zmq.REQ_RELAXED, 1)
        s.setsockopt(zmq.REQ_CORRELATE, 1)
        s.connect(f"tcp://127.0.0.1:{port}")
        return s

    def sub(self, port: int, *filters: bytes,
            timeout_ms: int = WAIT_MS) -> "zmq.Socket":
        s = self._make(zmq.SUB, timeout_ms)
        for f in filters:
            s.setsockopt(zmq.SUBSCRIBE, f)
        s.connect(f"tcp://127.0.0.1:{port}")
        return s

    def pub(self, port: int, timeout_ms: int = WAIT_MS) -> "zmq.Socket":
        """A publisher on the engine's publish port, returned once the engine's
        subscription reached it: from then on nothing it sends is dropped for
        want of a subscriber (no slow-joiner sleep). An XPUB is a PUB that
        also reads the subscriptions it gets."""
        s = self._make(zmq.XPUB, timeout_ms)
        s.connect(f"tcp://127.0.0.1:{port}")
        assert s.recv() == b"\x01", "the engine did not subscribe"
        return s

    def close(self) -> None:
        for s in self._sockets:
            if not s.closed:
                s.close(linger=0)
        self.context.destroy(linger=0)


# -- protocol helpers -----------------------------------------------------------------

NEXT = b"plugin_command: next_msg"
QUIT = b"plugin_command: quit"
PUBLISHED = b"event-engine: msg published"
BAD_MSG = b"event-engine: bad msg"


def publish(req: "zmq.Socket", data: bytes) -> bytes:
    """Publishes ``data`` through a plugin REQ socket; returns the reply."""
    req.send(data)
    return req.recv()


def publish_ok(req: "zmq.Socket", data: bytes) -> None:
    reply = publish(req, data)
    assert reply == PUBLISHED, reply


def next_msg(req: "zmq.Socket") -> bytes:
    req.send(NEXT)
    return req.recv()


def poll_readable(s: "zmq.Socket", timeout_s: float) -> bool:
    return bool(s.poll(int(timeout_s * 1000), zmq.POLLIN))


def recv_until(s: "zmq.Socket", last: bytes, timeout_s: float = WAIT_S,
               limit: int = 100000) -> List[bytes]:
    """Receives from ``s`` until ``last`` arrives (included); bounded."""
    got: List[bytes] = []
    deadline = time.monotonic() + timeout_s
    while len(got) < limit:
        left = deadline - time.monotonic()
        if left <= 0 or not poll_readable(s, left):
            raise AssertionError(
                f"{last!r} not received within {timeout_s} s; got {got[-20:]!r}"
            )
        msg = s.recv()
        got.append(msg)
        if msg == last:
            return got
    raise AssertionError(f"{last!r} not among the first {limit} messages")


def sync_subs(subs: List["zmq.Socket"], probe: Callable[[], None],
              is_probe_reply: Callable[[bytes], bool],
              timeout_s: float = 10.0) -> List[List[bytes]]:
    """ZeroMQ slow joiner: calls ``probe()`` (which publishes a probe event)
    every 50 ms until every SUB in ``subs`` has received a message recognised
    by ``is_probe_reply``. Returns what each SUB received meanwhile (probe
    replies that arrive later are the caller's to skip)."""
    received: List[List[bytes]] = [[] for _ in subs]
    pending = set(range(len(subs)))
    deadline = time.monotonic() + timeout_s
    while pending:
        if time.monotonic() >= deadline:
            raise AssertionError(f"subscriptions did not propagate in {timeout_s} s")
        probe()
        end = time.monotonic() + 0.05
        while pending and time.monotonic() < end:
            for i in list(pending):
                while poll_readable(subs[i], 0):
                    msg = subs[i].recv()
                    received[i].append(msg)
                    if is_probe_reply(msg):
                        pending.discard(i)
            time.sleep(0.002)
    return received
