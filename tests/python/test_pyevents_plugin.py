"""Unit tests of pyevents' Plugin class against a fake engine
(pyevents_fake.py; no C++ needed).

Run with Debian's interpreter (it has pyzmq)::

    /usr/bin/python3 -m pytest -q tests/python/test_pyevents_plugin.py
"""

from __future__ import annotations

import time
from typing import Optional

import pytest
import zmq

from pyevents_fake import (  # noqa: F401 (fixtures)
    NEXT,
    PUBLISHED,
    QUIT,
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
)


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
