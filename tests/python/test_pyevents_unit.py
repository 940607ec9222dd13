"""Unit tests of the pyevents client against a fake engine (no C++ needed).

The fake engine is a ZeroMQ ROUTER in a Python thread that speaks the command
protocol of SPEC section 4: ``plugin_command: next_msg`` is answered with the
next queued event (or deferred until one is pushed), ``plugin_command: quit``
gets no reply, any other single-frame body is "published" and answered with
``event-engine: msg published``, a multi-frame body gets
``event-engine: bad msg: multi-frame request``. Replies echo the envelope up
to and including the empty delimiter (so REQ_CORRELATE request ids work).

Run with Debian's interpreter (it has pyzmq)::

    /usr/bin/python3 -m pytest -q tests/python/test_pyevents_unit.py
"""

from __future__ import annotations

import collections
import inspect
import logging
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Deque, Dict, Iterator, List, NamedTuple, Optional

import pytest
import zmq

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bridge" / "python"))

import pyevents  # noqa: E402
from pyevents import (  # noqa: E402
    ClosedError,
    ConfigError,
    EventEngineError,
    Plugin,
    PublishError,
    Timeout,
)
from pyevents.events import (  # noqa: E402
    get_next_msg,
    get_plugin_socket,
    publish_msg,
    send_quit_command,
)

NEXT = b"plugin_command: next_msg"
QUIT = b"plugin_command: quit"
PUBLISHED = b"event-engine: msg published"
MULTI_FRAME = b"event-engine: bad msg: multi-frame request"
STALE = b"TypeAstale reply to an abandoned request"

# A generous bound for anything that should happen "at once".
WAIT_S = 5.0
WAIT_MS = int(WAIT_S * 1000)


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


# -- original functions: signatures ----------------------------------------------


def test_original_functions_keep_their_signatures() -> None:
    def params(fn: Callable[..., object], kind: int = inspect.Parameter.POSITIONAL_OR_KEYWORD) -> List[tuple]:
        return [
            (p.name, p.default)
            for p in inspect.signature(fn).parameters.values()
            if p.kind == kind
        ]

    empty = inspect.Parameter.empty
    assert params(get_plugin_socket) == [
        ("context", empty),
        ("port", empty),
        ("host", "engine"),
    ]
    # The CURVE keys are keyword-only, so no original call changes meaning.
    assert params(get_plugin_socket, inspect.Parameter.KEYWORD_ONLY) == [
        ("server_key", None),
        ("client_keys", None),
    ]
    assert params(get_next_msg) == [("socket", empty), ("timeout", -1)]
    assert params(publish_msg) == [("socket", empty), ("data", empty)]
    assert params(send_quit_command) == [("socket", empty)]


def test_package_exports_the_original_functions_and_the_client() -> None:
    for name in pyevents.__all__:
        assert hasattr(pyevents, name), name
    assert pyevents.get_next_msg is get_next_msg
    assert pyevents.Client is Plugin


# -- original functions: wire bytes ----------------------------------------------


def test_get_plugin_socket_is_a_req_socket_connected_to_host_and_port(
    sock: zmq.Socket, engine: FakeEngine
) -> None:
    assert sock.type == zmq.REQ
    assert sock.getsockopt(zmq.LAST_ENDPOINT) == f"tcp://127.0.0.1:{engine.port}".encode()


def test_get_next_msg_sends_exact_command_and_returns_the_event_bytes(
    sock: zmq.Socket, engine: FakeEngine, capsys: pytest.CaptureFixture[str]
) -> None:
    engine.push(b"TypeAThis is message 0")
    assert get_next_msg(sock) == b"TypeAThis is message 0"  # default: wait forever
    assert sock.RCVTIMEO == -1
    assert engine.bodies() == [[NEXT]]
    # The library never prints (the original did).
    assert capsys.readouterr() == ("", "")


def test_get_next_msg_waits_for_an_event_pushed_later(
    sock: zmq.Socket, engine: FakeEngine
) -> None:
    threading.Timer(0.05, engine.push, args=(b"TypeBlate",)).start()
    assert get_next_msg(sock, WAIT_MS) == b"TypeBlate"


def test_publish_msg_sends_raw_bytes_and_returns_the_reply_string(
    sock: zmq.Socket, engine: FakeEngine
) -> None:
    reply = publish_msg(sock, b"TypeCGoodbye from python")
    assert reply == "event-engine: msg published"
    assert isinstance(reply, str)
    assert engine.bodies() == [[b"TypeCGoodbye from python"]]
    assert engine.published == [b"TypeCGoodbye from python"]


def test_publish_msg_encodes_str_as_utf8(sock: zmq.Socket, engine: FakeEngine) -> None:
    assert publish_msg(sock, "TypeCgrüße") == "event-engine: msg published"
    assert engine.published == ["TypeCgrüße".encode("utf-8")]


def test_publish_msg_returns_and_logs_an_unexpected_reply(
    sock: zmq.Socket, engine: FakeEngine, caplog: pytest.LogCaptureFixture
) -> None:
    engine.publish_reply = b"event-engine: bad msg: nope"
    with caplog.at_level(logging.WARNING, logger="pyevents"):
        assert publish_msg(sock, b"x") == "event-engine: bad msg: nope"
    assert "bad msg" in caplog.text


def test_send_quit_command_sends_exact_bytes_and_waits_for_nothing(
    sock: zmq.Socket, engine: FakeEngine
) -> None:
    started = time.monotonic()
    assert send_quit_command(sock) is None
    assert time.monotonic() - started < 1.0
    assert engine.wait_for(lambda: engine.quit_count() == 1)
    assert engine.bodies() == [[QUIT]]
    assert engine.replies_sent == 0


def test_full_original_plugin_loop(sock: zmq.Socket, engine: FakeEngine) -> None:
    events = [b"TypeAThis is message %d" % i for i in range(5)] + [
        b"TypeB%d" % n for n in (17, 17, 17, 17, 17)
    ]
    engine.push(*events)
    got = [get_next_msg(sock, WAIT_MS) for _ in range(10)]
    assert got == events
    assert publish_msg(sock, b"TypeCGoodbye from python") == PUBLISHED.decode()
    send_quit_command(sock)
    assert engine.wait_for(lambda: engine.quit_count() == 1)
    assert engine.bodies() == [[NEXT]] * 10 + [[b"TypeCGoodbye from python"], [QUIT]]


def test_replies_echo_envelope_with_correlation_id(
    sock: zmq.Socket, engine: FakeEngine
) -> None:
    """Documents what the engine sees: a plain REQ envelope until a timed-out
    request is abandoned; from then on REQ_CORRELATE adds a 4-byte request id
    frame between the routing id and the empty delimiter, and echoing every
    frame up to the delimiter is what makes replies match."""
    publish_msg(sock, b"a")
    with pytest.raises(zmq.error.Again):
        get_next_msg(sock, 50)
    publish_msg(sock, b"b")   # abandons the timed-out next_msg
    publish_msg(sock, b"c")
    first = engine.requests[0]
    second, third = engine.requests[-2:]
    assert len(first.envelope) == 2 and first.envelope[1] == b""
    assert len(second.envelope) == 3
    assert first.envelope[0] == second.envelope[0]  # same peer, same connection
    assert len(second.envelope[1]) == 4 and second.envelope[2] == b""
    assert second.envelope[1] != third.envelope[1]


# -- original functions: timeout recovery ------------------------------------------


def test_get_next_msg_timeout_raises_again_and_socket_stays_usable(
    sock: zmq.Socket, engine: FakeEngine
) -> None:
    with pytest.raises(zmq.error.Again):
        get_next_msg(sock, 100)
    # The original REQ socket would now fail with EFSM; ours can send again.
    assert publish_msg(sock, b"TypeCafter timeout") == PUBLISHED.decode()
    engine.push(b"TypeAnot lost")
    assert get_next_msg(sock, WAIT_MS) == b"TypeAnot lost"
    assert engine.bodies() == [[NEXT], [b"TypeCafter timeout"], [NEXT]]


def test_repeated_timeouts_then_next_msg_lose_nothing(
    sock: zmq.Socket, engine: FakeEngine
) -> None:
    for _ in range(3):
        with pytest.raises(zmq.error.Again):
            get_next_msg(sock, 30)
    engine.push(b"TypeAfinally")
    assert get_next_msg(sock, WAIT_MS) == b"TypeAfinally"
    # The timed-out request stayed outstanding and got the event.
    assert engine.bodies() == [[NEXT]]


def test_event_sent_after_a_timeout_is_not_lost(
    ctx: zmq.Context, lazy_engine: FakeEngine
) -> None:
    sock = get_plugin_socket(ctx, lazy_engine.port, host="127.0.0.1")
    with pytest.raises(zmq.error.Again):
        get_next_msg(sock, 50)
    lazy_engine.push(b"TypeAlate")
    assert lazy_engine.wait_for(lambda: lazy_engine.replies_sent == 1)
    assert get_next_msg(sock, WAIT_MS) == b"TypeAlate"
    assert lazy_engine.bodies() == [[NEXT]]


def test_event_that_arrived_before_publish_is_kept(
    sock: zmq.Socket, engine: FakeEngine
) -> None:
    with pytest.raises(zmq.error.Again):
        get_next_msg(sock, 50)
    engine.push(b"TypeAarrived")
    assert sock.poll(WAIT_MS, zmq.POLLIN)  # the reply is here
    assert publish_msg(sock, b"TypeCmeanwhile") == PUBLISHED.decode()
    assert get_next_msg(sock, WAIT_MS) == b"TypeAarrived"
    assert engine.bodies() == [[NEXT], [b"TypeCmeanwhile"]]


def test_late_reply_to_abandoned_request_is_discarded(
    ctx: zmq.Context, racing_engine: FakeEngine
) -> None:
    sock = get_plugin_socket(ctx, racing_engine.port, host="127.0.0.1")
    with pytest.raises(zmq.error.Again):
        get_next_msg(sock, 50)
    # The engine answers the abandoned next_msg right before the publish.
    # REQ_CORRELATE drops that stale reply; publish gets its own reply.
    assert publish_msg(sock, b"TypeCx") == PUBLISHED.decode()
    assert racing_engine.wait_for(lambda: racing_engine.replies_sent == 2)
    racing_engine.push(b"TypeAfresh")
    assert get_next_msg(sock, WAIT_MS) == b"TypeAfresh"


def test_plain_req_socket_also_recovers_from_a_next_msg_timeout(
    ctx: zmq.Context, engine: FakeEngine
) -> None:
    """Even a strict REQ socket (not made by get_plugin_socket) can call
    get_next_msg again after a timeout: the outstanding request is reused."""
    sock = ctx.socket(zmq.REQ)
    sock.connect(f"tcp://127.0.0.1:{engine.port}")
    with pytest.raises(zmq.error.Again):
        get_next_msg(sock, 50)
    engine.push(b"TypeAplain")
    assert get_next_msg(sock, WAIT_MS) == b"TypeAplain"


# -- payloads ----------------------------------------------------------------------

PAYLOADS = [
    b"",
    b"\x00",
    bytes(range(256)),
    b"\xff\xfe" * 50_000,
    b"TypeA" + b"\x00" * 7 + b"\r\n",
]


@pytest.mark.parametrize("payload", PAYLOADS, ids=lambda p: f"{len(p)}B")
def test_binary_and_empty_payloads_are_byte_exact(
    sock: zmq.Socket, engine: FakeEngine, payload: bytes
) -> None:
    engine.push(payload)
    assert get_next_msg(sock, WAIT_MS) == payload
    assert publish_msg(sock, payload) == PUBLISHED.decode()
    assert engine.published == [payload]


@pytest.mark.parametrize("payload", PAYLOADS, ids=lambda p: f"{len(p)}B")
def test_plugin_binary_and_empty_payloads_are_byte_exact(
    plugin: Plugin, engine: FakeEngine, payload: bytes
) -> None:
    engine.push(payload)
    assert plugin.next_msg(WAIT_S) == payload
    plugin.publish(payload, timeout=WAIT_S)
    plugin.publish(bytearray(payload), timeout=WAIT_S)
    plugin.publish(memoryview(payload), timeout=WAIT_S)
    assert engine.published == [payload] * 3


def test_multi_frame_request_gets_a_bad_msg_reply(
    ctx: zmq.Context, engine: FakeEngine
) -> None:
    sock = get_plugin_socket(ctx, engine.port, host="127.0.0.1")
    sock.RCVTIMEO = WAIT_MS
    sock.send_multipart([b"TypeA", b"two frames"])
    assert sock.recv() == MULTI_FRAME
    assert engine.published == []
    # The socket (and engine) keep working.
    assert publish_msg(sock, b"TypeAone frame") == PUBLISHED.decode()


# -- Plugin class --------------------------------------------------------------------


def test_plugin_next_msg_publish_quit(plugin: Plugin, engine: FakeEngine) -> None:
    engine.push(b"TypeA1", b"TypeB2")
    assert plugin.next_msg(WAIT_S) == b"TypeA1"
    assert plugin.next_msg() == b"TypeB2"
    assert plugin.publish(b"TypeC3") is None
    assert plugin.publish("TypeC4") is None
    plugin.quit()
    plugin.quit()  # idempotent
    assert plugin.quit_sent
    assert engine.wait_for(lambda: engine.quit_count() == 1)
    assert engine.bodies() == [[NEXT], [NEXT], [b"TypeC3"], [b"TypeC4"], [QUIT]]
    assert not engine.wait_for(lambda: engine.quit_count() > 1, timeout=0.2)


def test_plugin_refuses_to_work_after_quit_or_close(plugin: Plugin) -> None:
    plugin.quit()
    with pytest.raises(ClosedError):
        plugin.next_msg(0.1)
    with pytest.raises(ClosedError):
        plugin.publish(b"x")
    plugin.close()
    plugin.close()  # idempotent
    assert plugin.closed
    with pytest.raises(ClosedError):
        plugin.next_msg(0.1)


def test_plugin_quit_after_close_is_an_error(plugin: Plugin) -> None:
    plugin.close()
    with pytest.raises(ClosedError):
        plugin.quit()


def test_plugin_timeout_is_typed_and_the_plugin_recovers(
    plugin: Plugin, engine: FakeEngine
) -> None:
    started = time.monotonic()
    with pytest.raises(Timeout) as info:
        plugin.next_msg(timeout=0.1)
    assert 0.05 < time.monotonic() - started < WAIT_S
    err = info.value
    assert isinstance(err, zmq.error.Again)
    assert isinstance(err, EventEngineError)
    assert err.errno == zmq.EAGAIN
    assert err.operation == "next_msg" and err.timeout == 0.1
    assert "next_msg" in str(err)
    plugin.publish(b"TypeCstill usable", timeout=WAIT_S)
    engine.push(b"TypeAafter timeout")
    assert plugin.next_msg(WAIT_S) == b"TypeAafter timeout"


def test_plugin_timed_out_next_msg_stays_outstanding(
    plugin: Plugin, engine: FakeEngine
) -> None:
    with pytest.raises(Timeout):
        plugin.next_msg(0.05)
    with pytest.raises(Timeout):
        plugin.next_msg(0.05)
    engine.push(b"TypeAwaited for")
    assert plugin.next_msg(WAIT_S) == b"TypeAwaited for"
    # One request served all three calls: nothing to abandon, nothing lost.
    assert engine.bodies() == [[NEXT]]


def test_plugin_discards_a_late_reply_to_an_abandoned_request(
    racing_engine: FakeEngine,
) -> None:
    with Plugin(racing_engine.port, host="127.0.0.1", linger_ms=0) as p:
        with pytest.raises(Timeout):
            p.next_msg(0.05)
        p.publish(b"TypeCx", timeout=WAIT_S)  # not confused by the stale reply
        racing_engine.push(b"TypeAfresh")
        assert p.next_msg(WAIT_S) == b"TypeAfresh"


def test_plugin_does_not_lose_an_event_even_if_the_engine_answers_late(
    lazy_engine: FakeEngine,
) -> None:
    with Plugin(lazy_engine.port, host="127.0.0.1", linger_ms=0) as p:
        with pytest.raises(Timeout):
            p.next_msg(0.05)
        lazy_engine.push(b"TypeAlate")
        assert p.next_msg(WAIT_S) == b"TypeAlate"


def test_plugin_keeps_an_event_that_arrived_before_publish_abandoned_it(
    plugin: Plugin, engine: FakeEngine
) -> None:
    with pytest.raises(Timeout):
        plugin.next_msg(0.05)
    engine.push(b"TypeAarrived")
    assert plugin.socket.poll(WAIT_MS, zmq.POLLIN)  # the reply is here
    plugin.publish(b"TypeCmeanwhile", timeout=WAIT_S)
    assert plugin.next_msg(WAIT_S) == b"TypeAarrived"
    assert engine.bodies() == [[NEXT], [b"TypeCmeanwhile"]]


def test_plugin_timeout_zero_polls(plugin: Plugin, engine: FakeEngine) -> None:
    with pytest.raises(Timeout):
        plugin.next_msg(0)
    engine.push(b"TypeAx")
    assert plugin.next_msg(WAIT_S) == b"TypeAx"


def test_plugin_rejects_bad_timeouts(plugin: Plugin) -> None:
    with pytest.raises(ConfigError, match="negative"):
        plugin.next_msg(-1)
    with pytest.raises(ConfigError):
        plugin.next_msg("soon")  # type: ignore[arg-type]


def test_plugin_publish_error_on_bad_msg_reply(
    plugin: Plugin, engine: FakeEngine
) -> None:
    engine.publish_reply = b"event-engine: bad msg: could not decode"
    with pytest.raises(PublishError) as info:
        plugin.publish(b"TypeCrejected", timeout=WAIT_S)
    assert info.value.reply == b"event-engine: bad msg: could not decode"
    assert isinstance(info.value, EventEngineError)
    assert "bad msg" in str(info.value)
    engine.publish_reply = PUBLISHED
    plugin.publish(b"TypeCaccepted", timeout=WAIT_S)  # still usable


def test_plugin_refuses_to_publish_command_bytes(
    plugin: Plugin, engine: FakeEngine
) -> None:
    for command in (NEXT, QUIT, QUIT.decode()):
        with pytest.raises(PublishError, match="plugin command"):
            plugin.publish(command)
    assert engine.bodies() == []


def test_plugin_publish_rejects_non_bytes(plugin: Plugin) -> None:
    with pytest.raises(TypeError):
        plugin.publish(42)  # type: ignore[arg-type]


def test_plugin_iteration(plugin: Plugin, engine: FakeEngine) -> None:
    engine.push(b"TypeA0", b"TypeA1", b"TypeA2")
    got = []
    for event in plugin:  # forever, so break out
        got.append(event)
        if len(got) == 2:
            break
    assert got == [b"TypeA0", b"TypeA1"]
    assert list(plugin.events(idle_timeout=0.1)) == [b"TypeA2"]
    # Iteration ended on a timeout; the plugin is still usable.
    plugin.publish(b"TypeCdone", timeout=WAIT_S)


def test_plugin_context_manager_sends_quit_and_closes(engine: FakeEngine) -> None:
    engine.push(b"TypeAhello")
    with Plugin(engine.port, host="127.0.0.1") as p:
        assert p.next_msg(WAIT_S) == b"TypeAhello"
    assert p.closed and p.quit_sent
    assert engine.wait_for(lambda: engine.quit_count() == 1)
    assert engine.bodies() == [[NEXT], [QUIT]]


def test_plugin_context_manager_does_not_quit_twice(engine: FakeEngine) -> None:
    with Plugin(engine.port, host="127.0.0.1") as p:
        p.quit()
    assert engine.wait_for(lambda: engine.quit_count() == 1)
    assert not engine.wait_for(lambda: engine.quit_count() > 1, timeout=0.2)


def test_plugin_context_manager_quits_on_exception(engine: FakeEngine) -> None:
    with pytest.raises(RuntimeError, match="boom"):
        with Plugin(engine.port, host="127.0.0.1") as p:
            raise RuntimeError("boom")
    assert p.closed
    assert engine.wait_for(lambda: engine.quit_count() == 1)


def test_plugin_uses_given_context_without_terminating_it(
    ctx: zmq.Context, engine: FakeEngine
) -> None:
    engine.push(b"TypeAx")
    with Plugin(engine.port, host="127.0.0.1", context=ctx, name="shared") as p:
        assert p.name == "shared"
        assert p.next_msg(WAIT_S) == b"TypeAx"
    assert not ctx.closed


def test_plugin_socket_works_with_the_original_functions(
    plugin: Plugin, engine: FakeEngine
) -> None:
    engine.push(b"TypeAmixed")
    assert get_next_msg(plugin.socket, WAIT_MS) == b"TypeAmixed"
    plugin.publish(b"TypeCmixed", timeout=WAIT_S)


def test_plugin_reads_port_and_host_from_environment(
    engine: FakeEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EE_PLUGIN_PORT", str(engine.port))
    monkeypatch.setenv("EE_PLUGIN_HOST", "127.0.0.1")
    engine.push(b"TypeAenv")
    with Plugin() as p:
        assert (p.host, p.port) == ("127.0.0.1", engine.port)
        assert p.endpoint == f"tcp://127.0.0.1:{engine.port}"
        assert p.next_msg(WAIT_S) == b"TypeAenv"


def test_plugin_host_defaults_to_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EE_PLUGIN_HOST", raising=False)
    p = Plugin(1, linger_ms=0)  # connect is asynchronous; nothing is sent
    try:
        assert p.host == "127.0.0.1"
    finally:
        p.close()


@pytest.mark.parametrize(
    "env, arg, match",
    [
        (None, None, "EE_PLUGIN_PORT"),
        ("", None, "EE_PLUGIN_PORT"),
        ("abc", None, "EE_PLUGIN_PORT='abc'"),
        ("70000", None, "out of range"),
        (None, 0, "out of range"),
        (None, "x", "not a TCP port"),
        (None, True, "not a TCP port"),
    ],
)
def test_plugin_port_errors_name_the_setting(
    monkeypatch: pytest.MonkeyPatch, env: Optional[str], arg: object, match: str
) -> None:
    if env is None:
        monkeypatch.delenv("EE_PLUGIN_PORT", raising=False)
    else:
        monkeypatch.setenv("EE_PLUGIN_PORT", env)
    with pytest.raises(ConfigError, match=match) as info:
        Plugin(arg)  # type: ignore[arg-type]
    assert isinstance(info.value, ValueError)


def test_plugin_empty_host_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="host"):
        Plugin(6000, host=" ")


# -- example plugin script (SPEC section 6) against the fake engine -----------------

PY_PLUGIN = REPO / "examples" / "example_app" / "py_plugin.py"


def _run_py_plugin(port: int, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.pop("EE_PLUGIN_PORT", None)
    return subprocess.run(
        [sys.executable, str(PY_PLUGIN), "--host", "127.0.0.1", "--port", str(port), *args],
        cwd="/",  # not the repo: pyevents must come from the script's fallback
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_example_py_plugin_runs_the_original_flow(engine: FakeEngine) -> None:
    events = [b"TypeAThis is message %d" % i for i in range(5)] + [
        b"TypeB17"
    ] * 5
    engine.push(*events)
    result = _run_py_plugin(engine.port, "--timeout", str(WAIT_MS))
    assert result.returncode == 0, result.stderr
    assert engine.wait_for(lambda: engine.quit_count() == 1)
    assert engine.bodies() == [[NEXT]] * 10 + [[b"TypeCGoodbye from python"], [QUIT]]
    assert "TypeAThis is message 4" in result.stdout


def test_example_py_plugin_fails_clearly_on_timeout(engine: FakeEngine) -> None:
    engine.push(b"TypeAonly one")
    result = _run_py_plugin(engine.port, "--timeout", "200")
    assert result.returncode == 1
    assert "no event 2 of 10" in result.stderr
    assert engine.published == []
