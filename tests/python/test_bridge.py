"""Integration tests: pyevents and raw pyzmq clients against the real engine.

They run the binaries of the build directory (``$EE_BUILD_DIR``, default
``<repo>/build``): ``event-engine`` (the TOML host), ``tests/ee_test_host``
(the same host plus an internal "echo" plugin: ``Ping<x>`` -> ``Pong<x>``,
``PingCount`` -> ``PongCount:<n>``, ``PingStop`` stops it) and
``examples/example_app``. Every port is 0 (a free port), every wait bounded.

Run with Debian's interpreter (it has pyzmq)::

    /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/python
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import time
from typing import List

import pytest

from conftest import (
    NEXT,
    PYTHON,
    PYTHON_DIR,
    WAIT_MS,
    WAIT_S,
    free_port,
    next_msg,
    pid_gone,
    plugin,
    poll_readable,
    publish_ok,
    python_env,
    recv_until,
    sync_subs,
    write_script,
)

zmq = pytest.importorskip("zmq")

from pyevents import Plugin, Timeout  # noqa: E402
from pyevents.events import (  # noqa: E402
    get_next_msg,
    get_plugin_socket,
    publish_msg,
    send_quit_command,
)

from bridge_helpers import (  # noqa: E402
    PROBE,
    QUIET_S,
    assert_no_event,
    assert_sub_quiet,
    sub_events_until,
    sync_raw_subs,
    wait_until,
)


# -- the example application -----------------------------------------------------------


def test_example_app_end_to_end(run_binary):
    app = run_binary("example_app", "--publish-port", "0", "--subscribe-port", "0",
                     "--plugin-port", "0")
    rc = app.wait(30)
    out = app.output()
    assert rc == 0, out
    assert "Goodbye from python" in out, out
    assert "all plugins finished" in out, out
    # The launched plugin got its 10 events (its output is forwarded).
    assert "got message 10" in out, out


ORIGINAL_PLUGIN = """\
    # The original example's Python plugin, written against the original
    # pyevents functions only (the engine's address is passed explicitly).
    import sys
    import time

    import zmq
    from pyevents.events import (get_next_msg, get_plugin_socket, publish_msg,
                                 send_quit_command)

    context = zmq.Context()
    socket = get_plugin_socket(context, int(sys.argv[1]), host="127.0.0.1")
    for i in range(10):
        print(f"waiting on message {i}", flush=True)
        msg_bytes = get_next_msg(socket)
        print(f"got message {i}; contents: {msg_bytes!r}", flush=True)
    time.sleep(0.3)
    reply = publish_msg(socket, b"TypeCGoodbye from python")
    print(f"reply: {reply}", flush=True)
    send_quit_command(socket)
"""


def test_example_app_no_launch_with_original_plugin(run_binary, tmp_path):
    port = free_port()
    app = run_binary("example_app", "--no-launch", "--publish-port", "0",
                     "--subscribe-port", "0", "--plugin-port", str(port))
    script = write_script(tmp_path, "original_plugin.py", ORIGINAL_PLUGIN)
    try:
        res = subprocess.run([PYTHON, str(script), str(port)], env=python_env(),
                             capture_output=True, timeout=30, text=True)
    except subprocess.TimeoutExpired as e:
        raise AssertionError(f"plugin hung; app output:\n{app.output()}\n"
                             f"plugin output:\n{e.stdout}\n{e.stderr}") from None
    assert res.returncode == 0, res.stdout + res.stderr + app.output()
    contents = re.findall(r"got message \d+; contents: (.*)", res.stdout)
    assert contents == (
        [repr(f"TypeAThis is message {i}".encode()) for i in range(5)]
        + [repr(b"TypeB17")] * 5
    ), res.stdout
    assert "reply: event-engine: msg published" in res.stdout, res.stdout
    rc = app.wait(15)
    out = app.output()
    assert rc == 0, out
    assert "Goodbye from python" in out, out
    assert "all plugins finished" in out, out


# -- raw ZeroMQ clients ----------------------------------------------------------------------


def test_raw_sub_gets_exactly_matching_events(engine, zsock):
    e = engine({"plugin": [plugin("src", "Unused")]}, binary="ee_test_host")
    src = zsock.req(e.plugin_port("src"))
    sub_b = zsock.sub(e.subscribe_port, b"PongB")
    sub_all = zsock.sub(e.subscribe_port, b"")
    during = sync_subs([sub_b, sub_all], lambda: publish_ok(src, b"PingBsync"),
                       lambda m: m == b"PongBsync")
    assert all(m == b"PongBsync" for m in during[0]), during[0]

    pings = [b"Ping" + c.encode() + str(i).encode() for i, c in enumerate("ABCABCAB")]
    for ev in pings:
        publish_ok(src, ev)
    publish_ok(src, b"PingBend")

    def real(ms: List[bytes]) -> List[bytes]:
        return [m for m in ms if not m.endswith(b"Bsync")]

    got_b = recv_until(sub_b, b"PongBend")
    assert all(m.startswith(b"PongB") for m in got_b), got_b
    assert real(got_b) == [b"PongB1", b"PongB4", b"PongB7", b"PongBend"]

    got_all = real(recv_until(sub_all, b"PongBend"))
    assert [m for m in got_all if m.startswith(b"Ping")] == pings + [b"PingBend"]
    assert [m for m in got_all if m.startswith(b"Pong")] == (
        [b"Pong" + p[4:] for p in pings] + [b"PongBend"])
    assert len(got_all) == 2 * (len(pings) + 1), got_all
    assert_sub_quiet(sub_b)
    assert_sub_quiet(sub_all)


def test_raw_pub_reaches_internal_plugins(engine, zsock):
    e = engine({"plugin": [plugin("obs", "Pong")]}, binary="ee_test_host")
    obs = zsock.req(e.plugin_port("obs"))
    pub = zsock.pub(e.publish_port)
    # Slow joiner: send probes on the raw PUB until the echo's answer to one
    # comes back through the observing plugin.
    obs.send(NEXT)
    first = None
    for i in range(200):
        pub.send(b"PingProbe" + str(i).encode())
        if poll_readable(obs, 0.05):
            first = obs.recv()
            break
    assert first is not None and first.startswith(b"PongProbe"), first
    data = [b"PingRaw" + str(i).encode() + b"\x00\xff" for i in range(5)]
    for ev in data:
        pub.send(ev)
    got = []
    while len(got) < len(data):
        ev = next_msg(obs)
        if not ev.startswith(b"PongProbe"):
            got.append(ev)
    assert got == [b"Pong" + ev[4:] for ev in data]
    # Raw PUB to another external plugin's subscription too.
    pub.send(b"PongDirect")
    assert next_msg(obs) == b"PongDirect"


# -- external plugins --------------------------------------------------------------------------


def test_next_msg_reply_is_deferred_until_an_event_exists(engine, zsock):
    e = engine({"plugin": [plugin("src", "Unused"), plugin("dst", "Late")]})
    src = zsock.req(e.plugin_port("src"))
    dst = zsock.req(e.plugin_port("dst"))
    dst.send(NEXT)
    assert not poll_readable(dst, 0.5), "next_msg answered with no event"
    publish_ok(src, b"Other")   # not subscribed: still no reply
    assert not poll_readable(dst, QUIET_S)
    publish_ok(src, b"LateEvent")
    assert poll_readable(dst, WAIT_S), "deferred next_msg never answered"
    assert dst.recv() == b"LateEvent"


def test_late_connecting_plugin_misses_nothing(engine, zsock):
    e = engine({"plugin": [plugin("src", "Unused"), plugin("late", "Seq")]})
    src = zsock.req(e.plugin_port("src"))
    expected = []
    for i in range(50):
        publish_ok(src, b"Other" + str(i).encode())
        ev = b"Seq" + str(i).encode()
        publish_ok(src, ev)
        expected.append(ev)
    late = zsock.req(e.plugin_port("late"))
    assert [next_msg(late) for _ in expected] == expected
    assert_no_event(late)


def test_launched_plugin_connecting_late_misses_nothing(engine, tmp_path):
    # The process starts only after events were published (it sleeps first).
    script = write_script(tmp_path, "late.py", """\
        import time
        from pyevents import Plugin
        time.sleep(0.5)
        with Plugin() as p:
            for _ in range(20):
                print("got", p.next_msg(timeout=10).decode(), flush=True)
    """)
    e = engine({"plugin": [
        plugin("src", "Unused"),
        plugin("late", "Seq", command=[PYTHON, str(script)],
               env={"PYTHONPATH": str(PYTHON_DIR)}),
    ]})
    with Plugin(e.plugin_port("src"), "127.0.0.1") as src:
        for i in range(20):
            src.publish(b"Seq" + str(i).encode(), timeout=WAIT_S)
    rc = e.wait(20)
    out = e.output()
    assert rc == 0, out
    assert re.findall(r"\[late\] got (Seq\d+)", out) == [f"Seq{i}" for i in range(20)], out


def test_relaxed_client_loses_nothing_after_timeout(engine, zsock):
    e = engine({"plugin": [plugin("src", "Unused"), plugin("dst", "Seq")]})
    src = zsock.req(e.plugin_port("src"))
    sock = zsock.track(get_plugin_socket(zsock.context, e.plugin_port("dst"),
                                         host="127.0.0.1"))
    with pytest.raises(zmq.error.Again):
        get_next_msg(sock, 300)
    for i in range(3):
        publish_ok(src, b"Seq" + str(i).encode())
    assert [get_next_msg(sock, WAIT_MS) for _ in range(3)] == [b"Seq0", b"Seq1", b"Seq2"]

    # A publish in between abandons the timed-out request: still nothing lost.
    with pytest.raises(zmq.error.Again):
        get_next_msg(sock, 300)
    assert "event-engine: msg published" in publish_msg(sock, b"Unrelated")
    for i in range(3, 6):
        publish_ok(src, b"Seq" + str(i).encode())
    assert [get_next_msg(sock, WAIT_MS) for _ in range(3)] == [b"Seq3", b"Seq4", b"Seq5"]

    # A raw REQ_RELAXED + REQ_CORRELATE socket that simply sends next_msg
    # again: the engine drops the abandoned request, the event goes to the
    # new one.
    raw = zsock.relaxed_req(e.plugin_port("dst"))
    raw.send(NEXT)
    assert not poll_readable(raw, QUIET_S)
    raw.send(NEXT)
    publish_ok(src, b"Seq6")
    assert poll_readable(raw, WAIT_S)
    assert raw.recv() == b"Seq6"
    send_quit_command(sock)


def test_plugin_class_loses_nothing_after_timeout(engine, zsock):
    e = engine({"plugin": [plugin("src", "Unused"), plugin("dst", "Seq")]})
    src = zsock.req(e.plugin_port("src"))
    with Plugin(e.plugin_port("dst"), "127.0.0.1", linger_ms=0) as p:
        with pytest.raises(Timeout):
            p.next_msg(timeout=0.3)
        for i in range(3):
            publish_ok(src, b"Seq" + str(i).encode())
        assert [p.next_msg(timeout=WAIT_S) for _ in range(3)] == [b"Seq0", b"Seq1", b"Seq2"]
        p.publish(b"SeqSelf", timeout=WAIT_S)   # it hears its own event
        assert p.next_msg(timeout=WAIT_S) == b"SeqSelf"


def test_several_plugins_get_only_their_subscriptions(engine, zsock):
    subs = {"pa": ["TypeA"], "pb": ["TypeB"], "pac": ["TypeA", "TypeC"],
            "pall": [""], "pnone": ["TypeZ"]}
    e = engine({"plugin": [plugin("src", "Unused")]
                + [plugin(n, *s) for n, s in subs.items()]})
    src = zsock.req(e.plugin_port("src"))
    events = [b"Type" + c.encode() + str(i).encode()
              for i, c in enumerate("ABCABCCBAAB")] + [b"TypeAB", b"TypeX"]
    for ev in events:
        publish_ok(src, ev)
    socks = {n: zsock.req(e.plugin_port(n)) for n in subs}
    for name, prefixes in subs.items():
        expected = [ev for ev in events if any(ev.startswith(p.encode()) for p in prefixes)]
        got = [next_msg(socks[name]) for _ in expected]
        assert got == expected, name
    # Nothing else for anyone: each one's next event is the first sentinel
    # it subscribes to (queues are in order, so anything else would come
    # first).
    sentinels = [b"TypeASentinel", b"TypeBSentinel", b"TypeZSentinel"]
    for ev in sentinels:
        publish_ok(src, ev)
    for name, prefixes in subs.items():
        first = next(ev for ev in sentinels
                     if any(ev.startswith(p.encode()) for p in prefixes))
        assert next_msg(socks[name]) == first, name


def test_binary_and_large_events_are_byte_exact(engine, zsock):
    e = engine({"plugin": [plugin("src", "Unused"), plugin("dst", "Bin")]})
    src = zsock.req(e.plugin_port("src"), timeout_ms=20000)
    dst = zsock.req(e.plugin_port("dst"), timeout_ms=20000)
    sub = zsock.sub(e.subscribe_port, b"Bin", PROBE, timeout_ms=20000)
    sync_raw_subs([sub], src)
    big = random.Random(1234).randbytes(10 * 1024 * 1024)
    events = [
        b"Bin" + bytes(range(256)) + b"\x00\x00nul\x00",
        b"Bin",                             # 0-length payload
        b"Bin\x00",
        b"Bin" + bytes(range(255, -1, -1)) * 4,
        b"Bin" + big,                       # 10 MB
        b"Binend",
    ]
    for ev in events:
        publish_ok(src, ev)
    got = [next_msg(dst) for _ in events]
    assert [len(g) for g in got] == [len(ev) for ev in events]
    assert got == events
    got_sub = sub_events_until(sub, b"Binend", timeout_s=20)
    assert [len(g) for g in got_sub] == [len(ev) for ev in events]
    assert got_sub == events


def test_binary_events_from_raw_pub_are_byte_exact(engine, zsock):
    e = engine({"plugin": [plugin("dst", "Bin")]})
    dst = zsock.req(e.plugin_port("dst"))
    sub = zsock.sub(e.subscribe_port, b"Bin", PROBE)
    pub = zsock.pub(e.publish_port)
    # A probe through the raw PUB that reaches the raw SUB proves both joined.
    sync_subs([sub], lambda: pub.send(PROBE), lambda m: m == PROBE)
    events = [b"Bin" + bytes(range(256)), b"Bin", b"Bin\x00\x00",
              b"Bin" + random.Random(7).randbytes(2 * 1024 * 1024), b"Binend"]
    for ev in events:
        pub.send(ev)
    assert [next_msg(dst) for _ in events] == events
    assert sub_events_until(sub, b"Binend") == events


# -- launched plugins and shutdown -------------------------------------------------------------------


def test_launched_plugin_output_is_prefixed(engine, tmp_path):
    script = write_script(tmp_path, "launched.py", """\
        import os
        import sys
        from pyevents import Plugin
        print(f"hello port={os.environ['EE_PLUGIN_PORT']} "
              f"host={os.environ['EE_PLUGIN_HOST']}", flush=True)
        print("a line on stderr", file=sys.stderr, flush=True)
        with Plugin() as p:
            p.publish(b"Ping-launched", timeout=10)
            print(f"got {p.next_msg(timeout=10)!r}", flush=True)
            p.publish(b"PingStop", timeout=10)
        print("bye", flush=True)
    """)
    e = engine({"plugin": [plugin("launcher", "Pong", command=[PYTHON, str(script)],
                                  env={"PYTHONPATH": str(PYTHON_DIR)})]},
               binary="ee_test_host")
    port = e.plugin_port("launcher")
    rc = e.wait(20)
    out = e.output()
    assert rc == 0, out
    assert f"[launcher] hello port={port} host=127.0.0.1" in out, out
    assert "[launcher] a line on stderr" in out, out
    assert "[launcher] got b'Pong-launched'" in out, out
    assert "[launcher] bye" in out, out
    assert re.search(r"launched pid \d+", out), out


def test_sigterm_stops_engine_and_its_children(engine, tmp_path, zsock):
    script = write_script(tmp_path, "forever.py", """\
        from pyevents import Plugin
        with Plugin() as p:
            print("connected", flush=True)
            for ev in p:
                print("event", ev, flush=True)
    """)
    e = engine({"engine": {"shutdown_grace_ms": 3000}, "plugin": [
        plugin("child", "Never", command=[PYTHON, str(script)],
               env={"PYTHONPATH": str(PYTHON_DIR)}),
        plugin("ext", "Never"),
    ]})
    ext = zsock.req(e.plugin_port("ext"))
    ext.send(NEXT)                        # connected, with a request waiting
    pid = int(e.wait_for_output(r"launched pid (\d+)").group(1))
    e.wait_for_output(r"\[child\] connected")
    assert not pid_gone(pid)
    start = time.monotonic()
    e.signal(signal.SIGTERM)
    rc = e.wait(10)
    elapsed = time.monotonic() - start
    out = e.output()
    assert rc == 0, out
    assert elapsed < 5, f"took {elapsed:.1f} s to stop; output:\n{out}"
    wait_until(lambda: pid_gone(pid), 3, f"launched plugin pid {pid} gone")


# -- the bridge's thread failing -------------------------------------------------------------------


def test_a_failing_bridge_stops_the_run_with_an_error(engine, tmp_path):
    """A fault injected into the bridge's thread (EE_TEST_BRIDGE_FAULT_MS)
    ends `run` with a non-zero exit that names the bridge, and the launched
    plugin (it would wait forever for a port nobody serves) is killed."""
    pid_file = tmp_path / "pid"
    script = write_script(tmp_path, "sleeper.py", f"""
        import os, time
        open({str(pid_file)!r}, "w").write(str(os.getpid()))
        time.sleep(600)
    """)
    env = dict(os.environ, EE_TEST_BRIDGE_FAULT_MS="2000")
    e = engine({"plugin": [plugin("sleeper", "A", command=[PYTHON, str(script)])]},
               command="run", env=env)
    wait_until(lambda: pid_file.exists() and pid_file.read_text() != "", WAIT_S,
               "the plugin's pid file")
    pid = int(pid_file.read_text())
    rc = e.wait(15)
    out = e.output()
    assert rc != 0, out
    assert "the bridge (ZeroMQ I/O thread) failed" in out, out
    assert "EE_TEST_BRIDGE_FAULT_MS" in out, out
    wait_until(lambda: pid_gone(pid), WAIT_S, f"the end of plugin {pid}")
