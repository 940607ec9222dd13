"""Regression tests for the wire-side reliability defects found by fault
injection: reconnect churn, clients that open a socket per message, one slow
plugin holding back every publisher, and memory of raw subscribers bounded in
bytes. Real engine processes, real sockets; every wait is bounded."""

from __future__ import annotations

import os
import socket as pysocket
import struct
import threading
import time
from collections import Counter
from typing import Dict, List

import pytest

from conftest import (NEXT, PUBLISHED, WAIT_S, eventually, free_port, next_msg,  # noqa: F401
                      plugin,
                      poll_readable, publish, publish_ok, sync_subs)

zmq = pytest.importorskip("zmq")


def feed(zsock, engine_proc, events: List[bytes]) -> None:
    """Publishes ``events`` from a raw PUB client that never drops."""
    pub = zsock.context.socket(zmq.XPUB)
    pub.setsockopt(zmq.LINGER, 2000)
    pub.setsockopt(zmq.RCVTIMEO, 20000)
    pub.setsockopt(zmq.SNDHWM, 0)
    pub.connect(engine_proc.endpoint(engine_proc.publish_port))
    # PUB/SUB: sending waits for the engine's subscription (a PUB drops
    # what no subscriber asked for).
    assert pub.recv() == b"\x01"
    for ev in events:
        pub.send(ev)
    pub.close()


def churn_clients(port: int, threads: int, rounds: int, timeout_ms: int,
                  expect: int) -> Dict[str, object]:
    """``threads`` clients, each round: open a REQ socket, ask next_msg,
    receive, close. Stops when ``expect`` distinct events were seen."""
    ctx = zmq.Context()
    got: List[bytes] = []
    lock = threading.Lock()
    unanswered: List[str] = []
    opened = [0]
    done = threading.Event()

    def client(i: int) -> None:
        for r in range(rounds):
            if done.is_set():
                return
            s = ctx.socket(zmq.REQ)
            s.setsockopt(zmq.LINGER, 0)
            s.setsockopt(zmq.RCVTIMEO, timeout_ms)
            s.connect(f"tcp://127.0.0.1:{port}")
            try:
                s.send(NEXT)
                try:
                    ev = s.recv()
                except zmq.Again:
                    if not done.is_set():
                        with lock:
                            unanswered.append(f"client {i} round {r}")
                    return
                with lock:
                    got.append(ev)
                    opened[0] += 1
                    if len(set(got)) >= expect:
                        done.set()
            finally:
                s.close(linger=0)

    ts = [threading.Thread(target=client, args=(i,)) for i in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(120)
    ctx.term()
    return {"got": got, "unanswered": unanswered, "opened": opened[0]}


# -- reconnect churn (defect 1) ----------------------------------------------------


def test_reconnect_churn_never_stalls_a_plugin(engine, zsock):
    # A small delivery window: a leaked slot per misattributed disconnect
    # stalls the plugin after a handful of them.
    n = 6000
    e = engine({"engine": {"delivery_window": 8},
                "plugin": [plugin("sink", "Churn", delivery="at_most_once")]})
    events = [b"Churn%05d" % i for i in range(n)]
    feeder = threading.Thread(target=feed, args=(zsock, e, events))
    feeder.start()
    result = churn_clients(e.plugin_port("sink"), threads=16, rounds=2000,
                           timeout_ms=15000, expect=n)
    feeder.join(60)
    got = result["got"]
    assert not result["unanswered"], f"requests never answered: {result['unanswered'][:5]}"
    counts = Counter(got)
    assert set(counts) == set(events), f"missing {len(set(events) - set(counts))} events"
    # At most once: nobody got an event twice.
    assert max(counts.values()) == 1
    assert result["opened"] >= n


def test_reconnect_churn_with_at_least_once_redelivers_and_dead_letters(engine, zsock):
    # Each client closes without confirming: every event is sent again, up
    # to max_delivery_attempts times, then goes to dead letters. The plugin
    # keeps going; no window slot leaks.
    n = 300
    e = engine({"engine": {"delivery_window": 8},
                "plugin": [plugin("sink", "Churn", max_delivery_attempts=3)]})
    dead = zsock.sub(e.subscribe_port, b"ee.dead_letter:sink")
    time.sleep(0.3)
    events = [b"Churn%05d" % i for i in range(n)]
    feeder = threading.Thread(target=feed, args=(zsock, e, events))
    feeder.start()
    result = churn_clients(e.plugin_port("sink"), threads=16, rounds=5000,
                           timeout_ms=15000, expect=n)
    feeder.join(60)
    assert not result["unanswered"], result["unanswered"][:5]
    counts = Counter(result["got"])
    assert set(counts) == set(events)
    assert max(counts.values()) <= 3
    # The events delivered three times (never confirmed) are dead letters.
    deadline = time.monotonic() + WAIT_S
    dead_letters = set()
    while time.monotonic() < deadline and len(dead_letters) < n - 40:
        if poll_readable(dead, 0.1):
            dead_letters.add(dead.recv().split(b"\n", 1)[1])
    assert len(dead_letters) >= n - 40, len(dead_letters)


# -- a fresh socket per message (defect 2) --------------------------------------------


@pytest.mark.parametrize("mode", ["at_most_once", "at_least_once"])
def test_a_client_with_a_fresh_socket_per_message_makes_progress(engine, zsock, mode):
    n = 200
    e = engine({"plugin": [plugin("fresh", "Fresh", delivery=mode)]})
    events = [b"Fresh%04d" % i for i in range(n)]
    feed(zsock, e, events)
    result = churn_clients(e.plugin_port("fresh"), threads=8, rounds=2000,
                           timeout_ms=10000, expect=n)
    assert not result["unanswered"], result["unanswered"][:5]
    counts = Counter(result["got"])
    assert set(counts) == set(events)
    if mode == "at_most_once":
        assert max(counts.values()) == 1
    else:
        assert max(counts.values()) <= 3  # max_delivery_attempts (default)


# -- publisher isolation (defect 3) ----------------------------------------------------


def test_one_plugin_that_stops_reading_holds_back_only_its_own_publishers(engine, zsock):
    e = engine({
        "engine": {"publish_window": 10},
        "plugin": [
            plugin("stuck", "Slow", queue_capacity=5),
            plugin("busy", "Nothing"),
            plugin("bystander", "Nothing"),
        ],
    })
    raw_sub = zsock.sub(e.subscribe_port, b"Other")
    busy = zsock.req(e.plugin_port("busy"), timeout_ms=500)
    # "stuck" never reads: after its queue (5) and busy's credit (10) are
    # used up, busy's publishes wait for room.
    held = False
    for i in range(40):
        busy.send(b"Slow%d" % i)
        try:
            assert busy.recv() == PUBLISHED
        except zmq.Again:
            held = True
            break
    assert held, "the publisher of events for a full queue was never held back"
    # Everybody else publishes as usual, on another plugin port and from a
    # raw PUB client; events that the stuck plugin does not want flow.
    other = zsock.req(e.plugin_port("bystander"), timeout_ms=int(WAIT_S * 1000))
    sync_subs([raw_sub], lambda: publish_ok(other, b"OtherProbe"),
              lambda m: m == b"OtherProbe")
    start = time.monotonic()
    for i in range(50):
        publish_ok(other, b"Other%d" % i)
    assert time.monotonic() - start < WAIT_S
    pub = zsock.pub(e.publish_port)
    pub.send(b"OtherRaw")
    got = []
    deadline = time.monotonic() + WAIT_S
    while b"OtherRaw" not in got and time.monotonic() < deadline:
        if poll_readable(raw_sub, 0.1):
            got.append(raw_sub.recv())
    assert b"OtherRaw" in got
    # The stuck plugin reads at last: busy's events move on and its held
    # publish completes.
    stuck = zsock.req(e.plugin_port("stuck"))
    for _ in range(40):
        assert next_msg(stuck).startswith(b"Slow")
        if poll_readable(busy, 0.05):
            break
    assert poll_readable(busy, WAIT_S)
    assert busy.recv() == PUBLISHED


# -- raw subscribers are bounded in bytes (defect 9) -------------------------------------


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


@pytest.mark.skipif(os.environ.get("EE_SANITIZED") == "1",
                    reason="AddressSanitizer's quarantine keeps freed memory: "
                           "RSS says nothing there (the plain build checks it)")
def test_a_raw_subscriber_that_never_reads_costs_bounded_memory(engine, zsock):
    e = engine({"engine": {"raw_subscriber_bytes": 4 * 1024 * 1024,
                           "publish_window_bytes": 4 * 1024 * 1024},
                "plugin": [plugin("sink", "Nothing")]})
    lazy = zsock.sub(e.subscribe_port, b"Big")
    lazy.setsockopt(zmq.RCVHWM, 1)
    lazy.setsockopt(zmq.RCVBUF, 4096)
    pusher = zsock.req(e.plugin_port("sink"))
    sync_subs([lazy], lambda: publish_ok(pusher, b"BigProbe"),
              lambda m: m == b"BigProbe")
    before = rss_mib(e.pid)
    payload = b"Big" + b"x" * (1 << 20)
    for _ in range(300):
        publish_ok(pusher, payload)
    # Let the engine settle (it may still hold the last few events).
    time.sleep(0.5)
    after = rss_mib(e.pid)
    # 300 MiB went by; the engine keeps at most the budget (plus the
    # publisher's window, ZeroMQ's and the allocator's own slack) for the
    # subscriber that never reads. (Before the byte budget: +300 MiB.)
    assert after - before < 32, f"RSS grew by {after - before:.0f} MiB"


# -- memory behind the publish port, bounded in bytes (issue 14.3) --------------


def vm_kib(pid: int, key: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def growth_settles_below(pid: int, before_kib: int, bound_mib: int,
                         timeout_s: float = 60.0) -> int:
    """Waits until the engine's RSS stops growing (unchanged within 1 MiB
    for a second) or exceeds ``before_kib`` by ``bound_mib``; returns the
    peak growth (VmHWM) in MiB."""
    deadline = time.monotonic() + timeout_s
    last, stable = vm_kib(pid, "VmRSS"), 0
    while time.monotonic() < deadline and stable < 10:
        time.sleep(0.1)  # sampling interval of a measurement, not a wait
        now = vm_kib(pid, "VmRSS")
        if now - before_kib > bound_mib * 1024:
            break
        stable = stable + 1 if abs(now - last) < 1024 else 0
        last = now
    return (vm_kib(pid, "VmHWM") - before_kib) // 1024


def blocked_publishers(e, count: int, events: int, size: int) -> List[object]:
    """``count`` raw PUB clients (SNDHWM 0: they never drop), each sending
    ``events`` events of ``size`` bytes for a plugin that never reads."""
    ctx = zmq.Context.instance()
    pubs = []
    for _ in range(count):
        pub = ctx.socket(zmq.PUB)
        pub.setsockopt(zmq.LINGER, 0)
        pub.setsockopt(zmq.SNDHWM, 0)
        pub.connect(e.endpoint(e.publish_port))
        pubs.append(pub)
    time.sleep(0.3)  # PUB/SUB: let the connections come up before sending
    payload = b"Big" + b"x" * size
    for pub in pubs:
        for _ in range(events):
            pub.send(payload, copy=False)
    return pubs


@pytest.mark.skipif(os.environ.get("EE_SANITIZED") == "1",
                    reason="RSS says nothing under AddressSanitizer")
@pytest.mark.parametrize("publishers,events", [(1, 300), (10, 30)])
def test_the_publish_port_holds_bounded_bytes_for_a_plugin_that_never_reads(
        engine, publishers, events):
    budget = 4 * 1024 * 1024
    e = engine({"engine": {"publish_window_bytes": budget, "queue_bytes": budget,
                           "max_message_size": 2 * 1024 * 1024},
                "plugin": [plugin("sink", "Big")]})
    before = vm_kib(e.pid, "VmRSS")
    pubs = blocked_publishers(e, publishers, events, 1 << 20)
    try:
        # 300 MiB are on their way; the engine keeps its budgets (4 MiB
        # window, 4 MiB queue) and per connection RCVHWM (2 = window /
        # max_message_size) events plus one being read. Before the bound:
        # +300 MiB (libzmq's default RCVHWM of 1,000 messages).
        peak = growth_settles_below(e.pid, before, 100)
        bound = 8 + 6 * publishers + 16
        assert peak < bound, f"the engine grew by {peak} MiB (bound {bound})"
    finally:
        for p in pubs:
            p.close(linger=0)


# -- subscriptions bounded (issue 19.2) --------------------------------------------


def zmtp_sub(port: int) -> "pysocket.socket":
    """A raw TCP connection that speaks ZMTP 3.0 (NULL) as a SUB socket, so
    the test itself keeps no subscription trie."""
    s = pysocket.create_connection(("127.0.0.1", port))
    greeting = (b"\xff" + b"\x00" * 8 + b"\x7f" + b"\x03\x00" +
                b"NULL".ljust(20, b"\x00") + b"\x00" + b"\x00" * 31)
    ready = b"\x05READY" + b"\x0bSocket-Type" + struct.pack(">I", 3) + b"SUB"
    s.sendall(greeting + b"\x04" + bytes([len(ready)]) + ready)
    # The engine's greeting and READY (64 + 28 bytes): the handshake is done
    # before the first subscription.
    s.settimeout(WAIT_S)
    got = b""
    while len(got) < 92:
        more = s.recv(92 - len(got))
        assert more, "the engine closed the connection in its handshake"
        got += more
    return s


def subscriptions(count: int, size: int, seed: str) -> bytes:
    """``count`` distinct subscription frames of ``size`` filter bytes."""
    out = []
    for i in range(count):
        body = b"\x01" + f"{seed}{i:08d}".encode().ljust(size, b"s")
        out.append(b"\x02" + struct.pack(">Q", len(body)) + body)
    return b"".join(out)


def send_until_closed(s: "pysocket.socket", data: bytes) -> bool:
    """Sends ``data``; returns False if the engine closed the connection."""
    try:
        s.sendall(data)
        return True
    except OSError:
        return False


@pytest.mark.skipif(os.environ.get("EE_SANITIZED") == "1",
                    reason="RSS says nothing under AddressSanitizer")
def test_a_subscription_flood_costs_a_bounded_amount_and_is_given_back(engine):
    e = engine({"plugin": [plugin("sink", "Nothing")]})
    before = vm_kib(e.pid, "VmRSS")
    flood = zmtp_sub(e.subscribe_port)
    # 50,000 distinct 1 KiB subscriptions: 1.6 GiB of libzmq's trie before
    # the limits; with the defaults (1 MiB per connection) about 32 MiB.
    for chunk in range(50):
        if not send_until_closed(flood, subscriptions(1000, 1024, f"c{chunk}-")):
            break
    peak = growth_settles_below(e.pid, before, 200)
    # Beside CPU hogs libzmq's I/O thread reads further ahead before the
    # bridge disconnects the flood (75 MiB seen); the bound is well
    # under 128 MiB (before the limits: +1,495 MiB).
    assert peak < 128, f"the engine grew by {peak} MiB"
    flood.settimeout(WAIT_S)
    try:
        while flood.recv(65536):  # the engine's greeting, then its hang-up
            pass
    except ConnectionResetError:
        pass
    flood.close()
    e.wait_for_output(r"disconnected a subscriber on the subscribe port "
                      r"\d+ that sent more than 1048576 bytes")
    # What it held is given back.
    growth_settles_below(e.pid, before, 200)
    after = (vm_kib(e.pid, "VmRSS") - before) // 1024
    assert after < 16, f"the engine kept {after} MiB after the disconnect"


# -- connections bounded per port (issue 14.3: many publishers) --------------------


def zmtp_peer(port: int, socket_type: bytes) -> "pysocket.socket":
    """A raw TCP connection that starts a ZMTP 3.0 (NULL) handshake as a
    ``socket_type`` socket: the engine answers with its greeting and READY,
    unless it refused the connection (then the socket reads its end)."""
    s = pysocket.create_connection(("127.0.0.1", port))
    greeting = (b"\xff" + b"\x00" * 8 + b"\x7f" + b"\x03\x00" +
                b"NULL".ljust(20, b"\x00") + b"\x00" + b"\x00" * 31)
    ready = (b"\x05READY" + b"\x0bSocket-Type" +
             struct.pack(">I", len(socket_type)) + socket_type)
    try:
        s.sendall(greeting + b"\x04" + bytes([len(ready)]) + ready)
    except (ConnectionResetError, BrokenPipeError):
        pass  # refused before it could say anything: answered() says so
    s.settimeout(WAIT_S)
    return s


def hung_up(s: "pysocket.socket") -> bool:
    """Reads until the engine ends the connection (True) or WAIT_S passes
    (False). libzmq sends its greeting at once, so a refused connection may
    read some bytes before its end."""
    s.settimeout(WAIT_S)
    try:
        while s.recv(4096):
            pass
        return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except pysocket.timeout:
        return False


def still_open(s: "pysocket.socket") -> bool:
    """Reads what is there without waiting: True unless the connection ended."""
    s.setblocking(False)
    try:
        while s.recv(4096):
            pass
        return False
    except BlockingIOError:
        return True
    except (ConnectionResetError, BrokenPipeError):
        return False


@pytest.mark.parametrize("port_of,socket_type", [
    (lambda e: e.publish_port, b"PUB"),
    (lambda e: e.plugin_port("sink"), b"DEALER"),
], ids=["publish_port", "plugin_port"])
def test_a_port_takes_at_most_max_connections(engine, zsock, port_of, socket_type):
    # libzmq holds up to a receive high-water mark and a frame per
    # connection whatever the budgets: the number of connections is what
    # bounds many publishers together. The first three are served, the
    # others are disconnected at once and counted. (Before: all eight.)
    e = engine({"engine": {"max_connections": 3},
                "plugin": [plugin("sink", "Ev"), plugin("src", "Unused")]})
    port = port_of(e)
    peers = [zmtp_peer(port, socket_type) for _ in range(8)]
    try:
        # The engine decides in the order it accepts: the last five go.
        assert [hung_up(p) for p in peers[3:]] == [True] * 5
        e.wait_for_output(r"refused a connection from 127\.0\.0\.1:\d+: the port "
                          r"has 3 connections already \(\[engine\] max_connections\)")
        # Decided before the five: the first three stay.
        assert [still_open(p) for p in peers[:3]] == [True] * 3
    finally:
        for p in peers:
            p.close()
    # The engine goes on serving.
    src = zsock.req(e.plugin_port("src"))
    publish_ok(src, b"EvAfter")
