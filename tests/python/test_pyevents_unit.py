"""Unit tests of pyevents' original functions and of the example plugin
script against a fake engine (pyevents_fake.py; no C++ needed).

Run with Debian's interpreter (it has pyzmq)::

    /usr/bin/python3 -m pytest -q tests/python/test_pyevents_unit.py
"""

from __future__ import annotations

import inspect
import logging
import os
import subprocess
import sys
import threading
import time
from typing import Callable, List

import pytest
import zmq

from pyevents_fake import (  # noqa: F401 (fixtures)
    MULTI_FRAME,
    NEXT,
    PUBLISHED,
    QUIT,
    REPO,
    WAIT_MS,
    WAIT_S,
    FakeEngine,
    ctx,
    engine,
    lazy_engine,
    plugin,
    racing_engine,
    sock,
)

import pyevents  # noqa: E402
from pyevents import (  # noqa: E402
    Plugin,
)
from pyevents.events import (  # noqa: E402
    get_next_msg,
    get_plugin_socket,
    publish_msg,
    send_quit_command,
)


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
