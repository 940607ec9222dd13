"""Integration tests: bad input on the engine's ports (multi-frame and empty
requests, garbage bytes, clients that vanish, oversized messages, a port in
use, a missing command, bad TOML) gets a clear error and loses nothing.

Run with Debian's interpreter (it has pyzmq)::

    /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/python
"""

from __future__ import annotations

import random
import socket as pysocket
import struct
import time
from pathlib import Path

import pytest

from conftest import (
    BAD_MSG,
    NEXT,
    PUBLISHED,
    WAIT_MS,
    WAIT_S,
    next_msg,
    plugin,
    poll_readable,
    publish,
    publish_ok,
    sync_subs,
)

zmq = pytest.importorskip("zmq")


from bridge_helpers import (  # noqa: E402
    PROBE,
    assert_no_event,
    plugin_events_until,
    sub_events_until,
    sync_raw_subs,
)

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
