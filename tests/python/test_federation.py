"""Federation on loopback (issue 18, the engine side): engines started with
`event-engine run` peer over CAF's middleman on ports picked at run time.
Exactly-once delivery through two and three engines (a line and a ring),
events held until a peer's subscriptions are known, custody through a
SIGKILLed middle engine, and what `--stats json` reports. The namespace
tests (one host per engine) live elsewhere."""

from __future__ import annotations

import json
import re
import signal
from typing import Dict, List, Optional

import pytest

from conftest import WAIT_S, eventually, free_port, next_msg, publish_ok

zmq = pytest.importorskip("zmq")

LINK_WAIT_S = 20.0  # reconnects back off up to 5 s


def fed_app(name: str, *, listen: Optional[str] = "127.0.0.1:0",
            peers: List[str] = (), plugins: List[Dict] = (),
            buffer_bytes: Optional[int] = None) -> str:
    lines = ["[engine]", "publish_port = 0", "subscribe_port = 0",
             "shutdown_grace_ms = 500", "", "[federation]",
             f'name = "{name}"']
    if listen:
        lines.append(f'listen = "{listen}"')
    if peers:
        lines.append("peers = [" + ", ".join(f'"{p}"' for p in peers) + "]")
    if buffer_bytes is not None:
        lines.append(f"buffer_bytes = {buffer_bytes}")
    for p in plugins:
        lines += ["", "[[plugin]]", f'name = "{p["name"]}"', "port = 0",
                  "subscriptions = [" +
                  ", ".join(f'"{s}"' for s in p.get("subs", [])) + "]"]
    return "\n".join(lines) + "\n"


def listen_port(e) -> int:
    m = e.wait_for_output(r"federation: listening on [\d.]+:(\d+)")
    return int(m.group(1))


def wait_peer_up(e, peer: str, count: int = 1) -> None:
    eventually(lambda: len(re.findall(rf"federation: peer {re.escape(peer)} up",
                                      e.output())) >= count,
               LINK_WAIT_S, lambda: f"peer {peer} up; output:\n{e.output()}")


def collect(req, n: int, timeout_s: float = WAIT_S) -> List[bytes]:
    req.setsockopt(zmq.RCVTIMEO, int(timeout_s * 1000))
    return [next_msg(req) for _ in range(n)]


def assert_nothing_more(req, wait_s: float = 0.5) -> None:
    req.setsockopt(zmq.RCVTIMEO, int(wait_s * 1000))
    with pytest.raises(zmq.error.Again):
        next_msg(req)


def final_stats(e) -> dict:
    e.signal(signal.SIGINT)
    e.wait()
    for line in e.output().splitlines():
        if line.startswith("{"):
            return json.loads(line)
    raise AssertionError(f"no JSON stats; output:\n{e.output()}")


def events(tag: str, n: int) -> List[bytes]:
    return [b"TypeA %s %d" % (tag.encode(), i) for i in range(n)]



def expect_everywhere(zsock, es, tag: str, n: int) -> None:
    """Publishes ``n`` events at the first engine; every other engine's sink
    gets exactly them, in order, and nothing more."""
    src = zsock.req(es[0].plugin_port("src"))
    for ev in events(tag, n):
        publish_ok(src, ev)
    for e in es[1:]:
        sink = zsock.req(e.plugin_port("sink"))
        assert collect(sink, n) == events(tag, n)
        assert_nothing_more(sink)

def test_two_engines_exchange_each_event_exactly_once(engine, zsock):
    a = engine(fed_app("site-a", plugins=[{"name": "src"}]), command="run",
               args=["--stats", "json"])
    b = engine(fed_app("site-b", listen=None,
                       peers=[f"127.0.0.1:{listen_port(a)}"],
                       plugins=[{"name": "sink", "subs": ["TypeA"]},
                                {"name": "watch",
                                 "subs": ["ee.lifecycle.peer_up:"]}]),
               command="run", args=["--stats", "json"])
    wait_peer_up(b, "site-a")
    wait_peer_up(a, "site-b")
    assert next_msg(zsock.req(b.plugin_port("watch"))) == (
        b"ee.lifecycle.peer_up:site-a")
    src = zsock.req(a.plugin_port("src"))
    n = 500
    for ev in events("a", n):
        publish_ok(src, ev)
        publish_ok(src, b"TypeB not for b")
    sink = zsock.req(b.plugin_port("sink"))
    assert collect(sink, n) == events("a", n)
    assert_nothing_more(sink)
    sa = final_stats(a)["federation"]
    sb = final_stats(b)["federation"]
    assert sa["name"] == "site-a" and sb["name"] == "site-b"
    assert sa["peers"]["site-b"]["forwarded"] == n  # TypeB never crossed
    assert sb["peers"]["site-a"]["received"] == n
    assert sa["refused"] == 0 and sb["duplicates"] == 0


def test_events_before_the_first_exchange_are_held(engine, zsock):
    port = free_port()
    a = engine(fed_app("site-a", listen=None, peers=[f"127.0.0.1:{port}"],
                       plugins=[{"name": "src"}]), command="run")
    src = zsock.req(a.plugin_port("src"))
    n = 200
    for ev in events("early", n):
        publish_ok(src, ev)
    b = engine(fed_app("site-b", listen=f"127.0.0.1:{port}",
                       plugins=[{"name": "sink", "subs": ["TypeA"]}]),
               command="run")
    sink = zsock.req(b.plugin_port("sink"))
    assert collect(sink, n, LINK_WAIT_S) == events("early", n)
    assert_nothing_more(sink)


def line_of_three(engine, b_port: int, b_args=()):
    b = engine(fed_app("site-b", listen=f"127.0.0.1:{b_port}",
                       plugins=[{"name": "mid", "subs": ["TypeA"]}]),
               command="run", args=list(b_args))
    a = engine(fed_app("site-a", listen=None, peers=[f"127.0.0.1:{b_port}"],
                       plugins=[{"name": "src"}]), command="run",
               args=["--stats", "json"])
    c = engine(fed_app("site-c", listen=None, peers=[f"127.0.0.1:{b_port}"],
                       plugins=[{"name": "sink", "subs": ["TypeA"]}]),
               command="run", args=["--stats", "json"])
    wait_peer_up(a, "site-b")
    wait_peer_up(c, "site-b")
    return a, b, c


def test_a_line_of_three_delivers_exactly_once_at_every_hop(engine, zsock):
    a, b, c = line_of_three(engine, free_port())
    src = zsock.req(a.plugin_port("src"))
    n = 500
    for ev in events("a", n):
        publish_ok(src, ev)
    assert collect(zsock.req(c.plugin_port("sink")), n) == events("a", n)
    assert collect(zsock.req(b.plugin_port("mid")), n) == events("a", n)
    assert final_stats(c)["federation"]["peers"]["site-b"]["received"] == n


def test_a_ring_delivers_exactly_once_and_drops_the_second_copies(engine,
                                                                   zsock):
    ports = [free_port() for _ in range(3)]
    names = ["site-a", "site-b", "site-c"]
    es = []
    for i, name in enumerate(names):
        plugins = [{"name": "src"}] if i == 0 else [
            {"name": "sink", "subs": ["TypeA"]}]
        es.append(engine(fed_app(name, listen=f"127.0.0.1:{ports[i]}",
                                 peers=[f"127.0.0.1:{ports[(i + 1) % 3]}"],
                                 plugins=plugins),
                         command="run", args=["--stats", "json"]))
    for i, e in enumerate(es):
        wait_peer_up(e, names[(i + 1) % 3])
        wait_peer_up(e, names[(i + 2) % 3])
    expect_everywhere(zsock, es, "ring", 300)
    dups = sum(final_stats(e)["federation"]["duplicates"] for e in es)
    assert dups > 0  # both ways round the ring: second copies dropped


def test_a_killed_middle_engine_loses_nothing_acknowledged(engine, zsock):
    b_port = free_port()
    a, b, c = line_of_three(engine, b_port)
    src = zsock.req(a.plugin_port("src"))
    sink = zsock.req(c.plugin_port("sink"))
    n = 2000
    evs = events("k", n)
    for ev in evs[: n // 2]:
        publish_ok(src, ev)
    got = collect(sink, 100)
    b.proc.kill()  # SIGKILL: what B held unacknowledged is still at A
    b.wait()
    for ev in evs[n // 2:]:
        publish_ok(src, ev)
    b2 = engine(fed_app("site-b", listen=f"127.0.0.1:{b_port}",
                        plugins=[{"name": "mid", "subs": ["TypeA"]}]),
                command="run")
    wait_peer_up(b2, "site-a")
    got += collect(sink, n - 100, LINK_WAIT_S)
    assert got == evs
    assert_nothing_more(sink)


def test_a_peer_with_this_engines_name_is_refused_on_both_sides(engine):
    a = engine(fed_app("site-a", plugins=[{"name": "src"}]), command="run",
               args=["--stats", "json"])
    twin = engine(fed_app("site-a", listen=None,
                          peers=[f"127.0.0.1:{listen_port(a)}"],
                          plugins=[{"name": "src"}]), command="run",
                  args=["--stats", "json"])
    a.wait_for_output(r"federation: refused 127\.0\.0\.1:\d+: .*own name",
                      LINK_WAIT_S)
    twin.wait_for_output(r"federation: refused .*own name", LINK_WAIT_S)
    assert "peer site-a up" not in a.output() + twin.output()
    assert final_stats(a)["federation"]["refused"] >= 1
    assert final_stats(twin)["federation"]["refused"] >= 1


def test_a_slow_remote_subscriber_slows_the_publisher(engine, zsock):
    """Credit across the link: B's subscriber does not read, so A's
    publisher waits (block), and nothing is lost once B reads."""
    small = "queue_capacity = 50\npublish_window = 20\n"
    a_text = fed_app("site-a", plugins=[{"name": "src"}],
                     buffer_bytes=4096).replace("[engine]\n",
                                               "[engine]\n" + small)
    a = engine(a_text, command="run")
    b_text = fed_app("site-b", listen=None,
                     peers=[f"127.0.0.1:{listen_port(a)}"],
                     plugins=[{"name": "sink", "subs": ["TypeA"]}]).replace(
                         "[engine]\n", "[engine]\n" + small)
    b = engine(b_text, command="run")
    wait_peer_up(a, "site-b")
    src = zsock.req(a.plugin_port("src"), timeout_ms=1000)
    n = 20000
    evs = events("slow", n)
    sent = 0
    with pytest.raises(zmq.error.Again):
        for ev in evs:
            publish_ok(src, ev)
            sent += 1
    assert sent < n // 2, sent  # held back by credit, not buffered away
    sink = zsock.req(b.plugin_port("sink"))
    got = collect(sink, sent)  # everything published so far arrives
    assert got == evs[:sent]


def test_a_silent_peer_is_declared_down_and_its_events_follow_later(engine,
                                                                      zsock):
    """B stops answering (SIGSTOP) mid-stream: the heartbeat declares the
    link down, A keeps B's events, and when B answers again every event
    arrives exactly once, in order."""
    a = engine(fed_app("site-a", plugins=[{"name": "src"}]), command="run",
               args=["--stats", "json"])
    b = engine(fed_app("site-b", listen=None,
                       peers=[f"127.0.0.1:{listen_port(a)}"],
                       plugins=[{"name": "sink", "subs": ["TypeA"]}]),
               command="run")
    wait_peer_up(a, "site-b")
    src = zsock.req(a.plugin_port("src"))
    n = 600
    evs = events("pause", n)
    for ev in evs[:200]:
        publish_ok(src, ev)
    b.signal(signal.SIGSTOP)
    try:
        a.wait_for_output(r"federation: peer site-b down: no answer",
                          LINK_WAIT_S)
        for ev in evs[200:]:
            publish_ok(src, ev)
    finally:
        b.signal(signal.SIGCONT)
    wait_peer_up(a, "site-b", 2)
    sink = zsock.req(b.plugin_port("sink"))
    assert collect(sink, n, LINK_WAIT_S) == evs
    assert_nothing_more(sink)
    assert final_stats(a)["federation"]["peers"]["site-b"]["dropped"] == 0


def test_a_small_buffer_drops_the_oldest_counts_them_and_loses_nothing_else(
        engine, zsock):
    a = engine(fed_app("site-a", plugins=[{"name": "src"}],
                       buffer_bytes=2000),
               command="run", args=["--stats", "json"])
    b = engine(fed_app("site-b", listen=None,
                       peers=[f"127.0.0.1:{listen_port(a)}"],
                       plugins=[{"name": "sink", "subs": ["TypeA"]}]),
               command="run")
    wait_peer_up(a, "site-b")
    src = zsock.req(a.plugin_port("src"))
    n = 1000
    evs = events("drop", n)
    b.signal(signal.SIGSTOP)
    try:
        a.wait_for_output(r"federation: peer site-b down: no answer",
                          LINK_WAIT_S)
        for ev in evs:
            publish_ok(src, ev)
        a.wait_for_output(r"federation: dropped \d+ events for peer site-b "
                          r"\(buffer_bytes\)")
    finally:
        b.signal(signal.SIGCONT)
    wait_peer_up(a, "site-b", 2)
    sink = zsock.req(b.plugin_port("sink"))
    got = []
    sink.setsockopt(zmq.RCVTIMEO, 1000)
    while True:
        try:
            got.append(next_msg(sink))
        except zmq.error.Again:
            break
    dropped = final_stats(a)["federation"]["peers"]["site-b"]["dropped"]
    assert dropped > 0
    assert len(got) + dropped == n
    assert got == evs[n - len(got):]  # the newest, in order


def test_check_and_run_report_a_taken_listen_port_at_its_key(tmp_path):
    import socket
    from conftest import run_cli
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        app = tmp_path / "app.toml"
        app.write_text(fed_app("site-a", listen=f"127.0.0.1:{port}"))
        for command in ("check", "run"):
            r = run_cli(command, str(app), timeout=30)
            assert r.returncode == 2, r.stderr
            assert re.search(rf"app\.toml:\d+:\d+: error: cannot bind the "
                             rf"federation's listen port to "
                             rf"tcp://127\.0\.0\.1:{port}", r.stderr), r.stderr


def test_a_mesh_of_four_delivers_exactly_once(engine, zsock):
    names = ["site-a", "site-b", "site-c", "site-d"]
    ports = [free_port() for _ in names]
    es = []
    for i, name in enumerate(names):
        plugins = [{"name": "src"}] if i == 0 else [
            {"name": "sink", "subs": ["TypeA"]}]
        es.append(engine(fed_app(name, listen=f"127.0.0.1:{ports[i]}",
                                 peers=[f"127.0.0.1:{p}"
                                        for p in ports[i + 1:]],
                                 plugins=plugins),
                         command="run", args=["--stats", "json"]))
    for i, e in enumerate(es):
        for j, other in enumerate(names):
            if j != i:
                wait_peer_up(e, other)
    expect_everywhere(zsock, es, "mesh", 300)


# -- TLS (certificates made here with the openssl command) -------------------


def make_pki(tmp_path):
    import shutil
    import subprocess
    if shutil.which("openssl") is None:
        pytest.skip("no openssl command")
    keys = tmp_path / "keys"
    keys.mkdir()

    def run(*args):
        subprocess.run(["openssl", *args], cwd=keys, check=True,
                       capture_output=True)
    for ca in ("ca", "other"):
        run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
            f"{ca}.key", "-out", f"{ca}.crt", "-days", "2", "-subj",
            f"/CN={ca}")
    for name, ca in (("site-a", "ca"), ("site-b", "ca"), ("rogue", "other")):
        run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key",
            "-out", f"{name}.csr", "-subj", f"/CN={name}")
        run("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt",
            "-CAkey", f"{ca}.key", "-CAcreateserial", "-out", f"{name}.crt",
            "-days", "2")
    return keys


def tls_app(name: str, cert: Optional[str], ca: str = "ca", **kw) -> str:
    text = fed_app(name, **kw)
    if cert is None:
        return text
    return (text + "\n[federation.tls]\n" f'certificate = "keys/{cert}.crt"\n'
            f'key = "keys/{cert}.key"\n' f'ca = "keys/{ca}.crt"\n')


def test_tls_links_come_up_and_carry_events(engine, zsock, tmp_path):
    make_pki(tmp_path)
    a = engine(tls_app("site-a", "site-a", plugins=[{"name": "src"}]),
               command="run")
    b = engine(tls_app("site-b", "site-b", listen=None,
                       peers=[f"127.0.0.1:{listen_port(a)}"],
                       plugins=[{"name": "sink", "subs": ["TypeA"]}]),
               command="run")
    wait_peer_up(b, "site-a")
    src = zsock.req(a.plugin_port("src"))
    for ev in events("tls", 50):
        publish_ok(src, ev)
    assert collect(zsock.req(b.plugin_port("sink")), 50) == events("tls", 50)


@pytest.mark.parametrize("dialler", ["rogue", "plain"])
def test_tls_refusals_are_logged_and_counted_on_both_sides(engine, tmp_path,
                                                           dialler):
    make_pki(tmp_path)
    a = engine(tls_app("site-a", "site-a", plugins=[{"name": "src"}]),
               command="run", args=["--stats", "json"])
    cert, ca = ("rogue", "other") if dialler == "rogue" else (None, "ca")
    b = engine(tls_app("site-b", cert, ca, listen=None,
                       peers=[f"127.0.0.1:{listen_port(a)}"],
                       plugins=[{"name": "src"}]),
               command="run", args=["--stats", "json"])
    a.wait_for_output(r"federation: refused 127\.0\.0\.1:\d+: TLS handshake "
                      r"failed", LINK_WAIT_S)
    b.wait_for_output(r"federation: refused 127\.0\.0\.1:\d+: ", LINK_WAIT_S)
    assert "up (" not in a.output() + b.output()
    assert final_stats(a)["federation"]["refused"] >= 1
    assert final_stats(b)["federation"]["refused"] >= 1


def test_a_tls_engine_tells_a_plain_peer_why(engine, tmp_path):
    make_pki(tmp_path)
    a = engine(tls_app("site-a", None, plugins=[{"name": "src"}]),
               command="run")
    b = engine(tls_app("site-b", "site-b", listen=None,
                       peers=[f"127.0.0.1:{listen_port(a)}"],
                       plugins=[{"name": "src"}]), command="run")
    a.wait_for_output(r"federation: refused 127\.0\.0\.1:\d+ \(peer "
                      r"'site-b'\): TLS mismatch", LINK_WAIT_S)
    b.wait_for_output(r"federation: refused .*does not use TLS", LINK_WAIT_S)
