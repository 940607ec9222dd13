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
import socket as pysocket
import struct
import subprocess
import time
from pathlib import Path
from typing import Callable, List, Sequence

import pytest

from conftest import (
    BAD_MSG,
    eventually,
    NEXT,
    PUBLISHED,
    PYTHON,
    PYTHON_DIR,
    WAIT_MS,
    WAIT_S,
    free_port,
    next_msg,
    pid_gone,
    plugin,
    poll_readable,
    publish,
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


# -- bad input ---------------------------------------------------------------------------------


def test_multi_frame_request_is_rejected(engine, zsock):
    e = engine({"plugin": [plugin("src", "Unused"), plugin("all", "")]})
    src = zsock.req(e.plugin_port("src"))
    sub = zsock.sub(e.subscribe_port, b"", timeout_ms=WAIT_MS)
    sync_raw_subs([sub], src)
    for frames in ([b"TMulti1", b"TMulti2"], [b"TMulti3", b"", b"TMulti4"]):
        src.send_multipart(frames)
        reply = src.recv()
        assert reply.startswith(BAD_MSG), reply
    publish_ok(src, b"TGood")
    assert sub_events_until(sub, b"TGood") == [b"TGood"]
    all_ = zsock.req(e.plugin_port("all"))
    assert plugin_events_until(all_, b"TGood") == [b"TGood"]
    assert_no_event(all_)
    # Still serving.
    publish_ok(src, b"TAgain")
    assert poll_readable(all_, WAIT_S) and all_.recv() == b"TAgain"


def test_zero_length_request_is_published_to_empty_filter_only(engine, zsock):
    e = engine({"plugin": [plugin("src", "Unused"), plugin("all", ""), plugin("t", "T")]})
    src = zsock.req(e.plugin_port("src"))
    sub_all = zsock.sub(e.subscribe_port, b"")
    sub_t = zsock.sub(e.subscribe_port, b"T", PROBE)
    sync_raw_subs([sub_all, sub_t], src)
    assert publish(src, b"") == PUBLISHED
    publish_ok(src, b"TGood")
    all_ = zsock.req(e.plugin_port("all"))
    t = zsock.req(e.plugin_port("t"))
    assert plugin_events_until(all_, b"TGood") == [b"", b"TGood"]
    assert plugin_events_until(t, b"TGood") == [b"TGood"]
    assert sub_events_until(sub_all, b"TGood") == [b"", b"TGood"]
    assert sub_events_until(sub_t, b"TGood") == [b"TGood"]


ZMTP_GREETING = (b"\xff" + b"\x00" * 8 + b"\x7f" + b"\x03\x00"
                 + b"NULL".ljust(20, b"\x00") + b"\x00" + b"\x00" * 31)


def zmtp_ready(socket_type: bytes) -> bytes:
    name = b"Socket-Type"
    body = (b"\x05READY" + bytes([len(name)]) + name
            + struct.pack(">I", len(socket_type)) + socket_type)
    return b"\x04" + bytes([len(body)]) + body


GARBAGE = [
    lambda peer: random.Random(99).randbytes(64 * 1024),
    lambda peer: b"GET / HTTP/1.1\r\nHost: engine\r\n\r\n",
    lambda peer: b"\xff" * 10 + b"\x00" * 100,
    lambda peer: b"",
    # A valid greeting, then a frame claiming 2**40 bytes.
    lambda peer: ZMTP_GREETING + zmtp_ready(peer) + b"\x02" + struct.pack(">Q", 1 << 40),
    # A valid greeting, then garbage instead of READY.
    lambda peer: ZMTP_GREETING + b"\x04\xff" + b"\x00" * 300,
    # A valid greeting with an unknown mechanism.
    lambda peer: b"\xff" + b"\x00" * 8 + b"\x7f\x03\x00" + b"BOGUS".ljust(20, b"\x00")
    + b"\x00" * 32,
    # Valid handshake, then a half-sent message.
    lambda peer: ZMTP_GREETING + zmtp_ready(peer) + b"\x00\x10abc",
]


def send_garbage(port: int, data: bytes) -> None:
    try:
        with pysocket.create_connection(("127.0.0.1", port), timeout=2) as s:
            if data:
                s.sendall(data)
            s.settimeout(0.2)
            try:
                s.recv(65536)
            except (pysocket.timeout, OSError):
                pass
    except OSError:
        pass  # the engine closed the connection: fine


def test_garbage_on_every_port_leaves_engine_serving(engine, zsock):
    e = engine({"plugin": [plugin("src", "Unused"), plugin("dst", "Pong")]},
               binary="ee_test_host")
    peers = {e.publish_port: b"PUB", e.subscribe_port: b"SUB",
             e.plugin_port("src"): b"REQ", e.plugin_port("dst"): b"REQ"}
    for port, peer in peers.items():
        for make in GARBAGE:
            send_garbage(port, make(peer))
    assert e.proc.poll() is None, e.output()
    # Plugin ports, subscribe port and publish port all still work.
    src = zsock.req(e.plugin_port("src"))
    dst = zsock.req(e.plugin_port("dst"))
    sub = zsock.sub(e.subscribe_port, b"Pong", PROBE)
    sync_raw_subs([sub], src)
    publish_ok(src, b"PingAfterGarbage")
    assert next_msg(dst) == b"PongAfterGarbage"
    assert sub_events_until(sub, b"PongAfterGarbage") == [b"PongAfterGarbage"]
    pub = zsock.pub(e.publish_port)
    dst.send(NEXT)
    for i in range(200):
        pub.send(b"PingFromPub")
        if poll_readable(dst, 0.05):
            break
    assert dst.recv() == b"PongFromPub"
    assert e.proc.poll() is None, e.output()


def test_client_gone_before_reply_loses_no_event(engine, zsock):
    e = engine({"plugin": [plugin("src", "Unused"), plugin("dst", "Ev")]})
    src = zsock.req(e.plugin_port("src"))
    for _ in range(2):
        gone = zsock.req(e.plugin_port("dst"))
        gone.send(NEXT)
        time.sleep(0.2)           # the request reaches the engine
        gone.close(linger=0)
    time.sleep(0.3)               # the engine notices the disconnects
    publish_ok(src, b"Ev1")
    publish_ok(src, b"Ev2")
    time.sleep(0.1)
    nxt = zsock.req(e.plugin_port("dst"))
    assert next_msg(nxt) == b"Ev1"
    assert next_msg(nxt) == b"Ev2"
    assert_no_event(nxt)


def test_oversized_message_is_rejected(engine, zsock):
    e = engine({"engine": {"max_message_size": 1000},
                "plugin": [plugin("src", "Unused"), plugin("all", "")]})
    src = zsock.req(e.plugin_port("src"))
    sub = zsock.sub(e.subscribe_port, b"")
    sync_raw_subs([sub], src)
    reply = publish(src, b"T" * 1001)
    assert reply.startswith(BAD_MSG), reply
    assert b"1001" in reply, reply
    ok = b"T" + b"x" * 999                   # exactly the maximum
    publish_ok(src, ok)
    assert sub_events_until(sub, ok) == [ok]
    # Raw PUB: oversized events are dropped too.
    pub = zsock.pub(e.publish_port)
    sync_subs([sub], lambda: pub.send(PROBE + b"pub"), lambda m: m == PROBE + b"pub")
    pub.send(b"T" * 5000)
    pub.send(b"TGood")
    assert sub_events_until(sub, b"TGood") == [b"TGood"]
    all_ = zsock.req(e.plugin_port("all"))
    assert plugin_events_until(all_, b"TGood") == [ok, b"TGood"]


def test_port_in_use_fails_promptly(engine):
    blocker = pysocket.socket(pysocket.AF_INET, pysocket.SOCK_STREAM)
    try:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen(1)
        port = blocker.getsockname()[1]
        start = time.monotonic()
        e = engine({"plugin": [plugin("busyplug", "A") | {"port": port}]},
                   wait_ready=False)
        rc = e.wait(15)
        elapsed = time.monotonic() - start
    finally:
        blocker.close()
    out = e.output()
    assert rc != 0, out
    assert str(port) in out and "busyplug" in out, out
    assert "event-engine: ready" not in out, out
    assert elapsed < 5, f"took {elapsed:.1f} s to fail; output:\n{out}"


def test_missing_command_fails(engine, tmp_path):
    for cmd in ([str(tmp_path / "no-such-program")], ["no-such-program-ee-xyz", "arg"]):
        e = engine({"plugin": [plugin("ghost", "A", command=cmd)]}, wait_ready=False)
        rc = e.wait(15)
        out = e.output()
        assert rc != 0, out
        assert Path(cmd[0]).name in out, out


def test_bad_toml_exits_2_naming_the_line(engine):
    text = ("[engine]\npublish_port = 0\nsubscribe_port = 0\n\n"
            "[[plugin]]\nname = \"x\"\nport = = 0\n")
    e = engine(text, wait_ready=False)
    rc = e.wait(10)
    out = e.output()
    assert rc == 2, out
    assert ".toml:7:" in out, out  # FILE:LINE:COLUMN: error: ...


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
