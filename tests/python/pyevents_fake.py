"""A fake engine for the pyevents unit tests (test_pyevents_unit.py,
test_pyevents_plugin.py) and their fixtures: no C++ needed.

The fake engine is a ZeroMQ ROUTER in a Python thread that speaks the command
protocol of SPEC section 4: ``plugin_command: next_msg`` is answered with the
next queued event (or deferred until one is pushed), ``plugin_command: quit``
gets no reply, any other single-frame body is "published" and answered with
``event-engine: msg published``, a multi-frame body gets
``event-engine: bad msg: multi-frame request``. Replies echo the envelope up
to and including the empty delimiter (so REQ_CORRELATE request ids work).
"""

from __future__ import annotations

import collections
import queue
import sys
import threading
from pathlib import Path
from typing import Callable, Deque, Dict, Iterator, List, NamedTuple, Optional

import pytest
import zmq

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bridge" / "python"))

import pyevents  # noqa: E402,F401
from pyevents import (  # noqa: E402
    Plugin,
)
from pyevents.events import (  # noqa: E402
    get_plugin_socket,
)

from zmq_helpers import NEXT, PUBLISHED, QUIT, WAIT_MS, WAIT_S  # noqa: E402,F401

MULTI_FRAME = b"event-engine: bad msg: multi-frame request"
STALE = b"TypeAstale reply to an abandoned request"


# -- fake engine -----------------------------------------------------------------


class Request(NamedTuple):
    envelope: List[bytes]  # routing id, [REQ_CORRELATE id,] b""
    body: List[bytes]


class FakeEngine:
    """A ROUTER serving one plugin port in a background thread.

    Args:
        abandoned: what to do when a peer sends a new request while its
            ``next_msg`` is still pending (the client abandoned it):
            ``"drop"`` forgets it without consuming an event (what a
            REQ_RELAXED-aware engine does); ``"keep"`` leaves it pending, to
            be answered when an event arrives; ``"answer"`` answers it at
            once with :data:`STALE`, just before handling the new request
            (an engine that sent an event just as the client gave up).
    """

    def __init__(self, abandoned: str = "drop") -> None:
        assert abandoned in ("drop", "keep", "answer")
        self.abandoned = abandoned
        self.publish_reply = PUBLISHED
        self._ctx = zmq.Context()
        self._router = self._ctx.socket(zmq.ROUTER)
        self._router.linger = 0
        self.port = self._router.bind_to_random_port("tcp://127.0.0.1")
        self._incoming: "queue.Queue[bytes]" = queue.Queue()
        self._backlog: Deque[bytes] = collections.deque()
        self._pending: Dict[bytes, Deque[List[bytes]]] = {}
        self._cond = threading.Condition()
        self.requests: List[Request] = []
        self.published: List[bytes] = []
        self.replies_sent = 0
        self._stop = threading.Event()
        self._error: Optional[BaseException] = None
        self._thread = threading.Thread(target=self._run, name="fake-engine", daemon=True)
        self._thread.start()

    # -- test side ---------------------------------------------------------------

    def push(self, *events: bytes) -> None:
        """Queue events for the plugin (thread-safe)."""
        for event in events:
            self._incoming.put(event)

    def wait_for(self, predicate: Callable[[], bool], timeout: float = WAIT_S) -> bool:
        with self._cond:
            return self._cond.wait_for(predicate, timeout)

    def bodies(self) -> List[List[bytes]]:
        with self._cond:
            return [r.body for r in self.requests]

    def quit_count(self) -> int:
        with self._cond:
            return sum(1 for r in self.requests if r.body == [QUIT])

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=WAIT_S)
        assert not self._thread.is_alive(), "fake engine thread did not stop"
        self._ctx.term()
        if self._error is not None:
            raise self._error

    # -- engine thread -----------------------------------------------------------

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                if self._router.poll(10, zmq.POLLIN):
                    self._handle(self._router.recv_multipart(zmq.NOBLOCK))
                self._drain_incoming()
        except BaseException as e:  # surfaced by stop()
            self._error = e
        finally:
            self._router.close(linger=0)

    def _reply(self, envelope: List[bytes], body: bytes) -> None:
        self._router.send_multipart(envelope + [body])
        with self._cond:
            self.replies_sent += 1
            self._cond.notify_all()

    def _drain_incoming(self) -> None:
        while True:
            try:
                self._backlog.append(self._incoming.get_nowait())
            except queue.Empty:
                break
        for identity in list(self._pending):
            waiting = self._pending[identity]
            while waiting and self._backlog:
                self._reply(waiting.popleft(), self._backlog.popleft())
            if not waiting:
                del self._pending[identity]

    def _handle(self, frames: List[bytes]) -> None:
        try:
            split = frames.index(b"", 1) + 1
        except ValueError:
            return  # no delimiter: not a REQ peer; ignore
        envelope, body = frames[:split], frames[split:]
        identity = frames[0]
        with self._cond:
            self.requests.append(Request(envelope, body))
            self._cond.notify_all()
        if self.abandoned == "drop":
            self._pending.pop(identity, None)
        elif self.abandoned == "answer":
            for old in self._pending.pop(identity, ()):
                self._reply(old, STALE)
        if len(body) != 1:
            self._reply(envelope, MULTI_FRAME)
        elif body[0] == NEXT:
            self._drain_incoming()
            if self._backlog and not self._pending.get(identity):
                self._reply(envelope, self._backlog.popleft())
            else:
                self._pending.setdefault(identity, collections.deque()).append(envelope)
        elif body[0] == QUIT:
            pass
        else:
            with self._cond:
                self.published.append(body[0])
            self._reply(envelope, self.publish_reply)


# -- fixtures --------------------------------------------------------------------


@pytest.fixture
def engine() -> Iterator[FakeEngine]:
    fake = FakeEngine()
    yield fake
    fake.stop()


@pytest.fixture
def lazy_engine() -> Iterator[FakeEngine]:
    """An engine that keeps abandoned next_msg requests pending."""
    fake = FakeEngine(abandoned="keep")
    yield fake
    fake.stop()


@pytest.fixture
def racing_engine() -> Iterator[FakeEngine]:
    """An engine that answers an abandoned next_msg just as a new request
    arrives."""
    fake = FakeEngine(abandoned="answer")
    yield fake
    fake.stop()


@pytest.fixture
def ctx() -> Iterator[zmq.Context]:
    context = zmq.Context()
    yield context
    context.destroy(linger=0)


@pytest.fixture
def sock(ctx: zmq.Context, engine: FakeEngine) -> zmq.Socket:
    return get_plugin_socket(ctx, engine.port, host="127.0.0.1")


@pytest.fixture
def plugin(engine: FakeEngine) -> Iterator[Plugin]:
    p = Plugin(engine.port, host="127.0.0.1", name="test-plugin", linger_ms=0)
    yield p
    p.close()
