"""Metrics: a known workload gives exact counters through every channel —
the Prometheus endpoint (scraped over real HTTP, checked by promtool), the
periodic `ee.stats` event on the bus, and `--stats` at exit."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
import urllib.request
from typing import Dict

import pytest

from conftest import WAIT_S, eventually, plugin, poll_readable, publish_ok

zmq = pytest.importorskip("zmq")
from pyevents import Plugin  # noqa: E402

N = 10

CONFIG = {
    "engine": {"stats_interval_ms": 100},
    "types": {"Temp": "Temp", "Ack": "Ack"},
    "plugin": [
        plugin("src", "Ack"),
        plugin("sink", "Temp", delivery="at_most_once"),
        # Never quits: the engine runs until it gets SIGTERM.
        plugin("keepalive", "Ack"),
    ],
}


def toml_with_types(config) -> str:
    """conftest.to_toml writes [engine] and [[plugin]]; [types] is ours."""
    from conftest import to_toml, with_free_ports
    text = to_toml(with_free_ports({k: v for k, v in config.items() if k != "types"}))
    types = "[types]\n" + "".join(f'{k} = "{v}"\n' for k, v in config["types"].items())
    return types + "\n" + text


def workload(e) -> None:
    """src publishes N Temp events; sink takes all of them."""
    with Plugin(e.plugin_port("src"), "127.0.0.1") as src:
        for i in range(N):
            src.publish(b"Temp %d" % i, timeout=WAIT_S)
    with Plugin(e.plugin_port("sink"), "127.0.0.1") as sink:
        got = [sink.next_msg(timeout=WAIT_S) for _ in range(N)]
    assert got == [b"Temp %d" % i for i in range(N)]


def metrics_port(e) -> int:
    m = re.search(r"metrics_port=(\d+)", e.output())
    assert m, e.output()
    return int(m.group(1))


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=WAIT_S) as r:
        assert r.status == 200
        return r.read().decode()


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample of the exposition `text`."""
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        got = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0]))
        if all(got.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no sample {name}{labels} in:\n{text}")


def wait_for(predicate, timeout: float = WAIT_S):
    return eventually(predicate, timeout, "the metrics")


def test_prometheus_endpoint_counts_a_known_workload_exactly(engine):
    e = engine(toml_with_types(CONFIG), command="run", args=["--metrics", "0"])
    workload(e)
    port = metrics_port(e)

    def settled() -> str:
        text = scrape(port)
        done = sample(text, "ee_plugin_events_handled_total", plugin="sink") == N
        return text if done else ""

    text = wait_for(settled)
    assert sample(text, "ee_type_events_published_total", type="Temp") == N
    assert sample(text, "ee_type_events_routed_total", type="Temp") == N
    assert sample(text, "ee_type_events_handled_total", type="Temp") == N
    assert sample(text, "ee_type_events_dropped_total", type="Temp", reason="policy") == 0
    assert sample(text, "ee_plugin_events_published_total", plugin="src") == N
    assert sample(text, "ee_plugin_events_routed_total", plugin="sink", kind="external") == N
    assert sample(text, "ee_plugin_round_trips_total", plugin="sink") == N
    assert sample(text, "ee_plugin_round_trips_total", plugin="src") == N
    assert sample(text, "ee_plugin_queue_events", plugin="sink") == 0
    assert sample(text, "ee_plugin_restarts_total", plugin="sink") == 0
    assert sample(text, "ee_raw_events_dropped_total") == 0
    # Every event routed once: the plugin's and the engine's own.
    assert sample(text, "ee_events_routed_total") >= N
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool (Debian package prometheus) is not installed")
    check = subprocess.run([promtool, "check", "metrics"], input=text.encode(),
                           capture_output=True, timeout=30)
    assert check.returncode == 0, check.stdout.decode() + check.stderr.decode()


def test_the_periodic_stats_event_carries_the_same_counters(engine, zsock):
    e = engine(toml_with_types(CONFIG), command="run")
    stats = zsock.sub(e.subscribe_port, b"ee.stats")
    # The first report proves the subscription is in place.
    assert poll_readable(stats, WAIT_S)
    stats.recv()
    workload(e)

    def report() -> Dict:
        while poll_readable(stats, 0.5):
            msg = stats.recv()
            head, body = msg.split(b"\n", 1)
            assert head == b"ee.stats"
            doc = json.loads(body)
            if doc["plugins"]["sink"]["handled"] == N:
                return doc
        return {}

    doc = wait_for(report)
    assert doc["types"]["Temp"]["published"] == N
    assert doc["types"]["Temp"]["handled"] == N
    assert doc["plugins"]["src"]["published"] == N
    assert doc["plugins"]["sink"]["kind"] == "external"
    assert doc["plugins"]["sink"]["round_trips"] == N
    assert doc["routed"] >= N + doc["system_events"]
    for name, t in doc["types"].items():
        assert t["routed"] == t["handled"] + t["dead_letters"] + t["dropped"] + t["queued"], name
    for name, p in doc["plugins"].items():
        assert p["routed"] == p["handled"] + p["dead_letters"] + p["dropped"] + p["queued"], name


@pytest.mark.parametrize("fmt", ["json", "text", "prometheus"])
def test_stats_at_exit(engine, fmt):
    e = engine(toml_with_types(CONFIG), command="run", args=["--stats", fmt])
    workload(e)
    e.signal(15)
    assert e.wait(10) == 0, e.output()
    out = e.output()
    if fmt == "json":
        line = next(l for l in out.splitlines() if l.startswith('{"routed"'))
        doc = json.loads(line)
        assert doc["types"]["Temp"]["published"] == N
        assert doc["plugins"]["sink"]["handled"] == N
    elif fmt == "text":
        assert re.search(r"^\s+Temp\s+%d\s+%d\s+%d\s+0\s+0\s+0\s*$" % (N, N, N), out, re.M), out
        assert re.search(r"^\s+sink\s+%d\s+%d\s+0\s+0\s+0" % (N, N), out, re.M), out
    else:
        assert 'ee_type_events_published_total{type="Temp"} %d' % N in out, out


def test_metrics_address_errors_are_clear(engine, tmp_path):
    from conftest import run_cli
    cfg = tmp_path / "app.toml"
    cfg.write_text(toml_with_types(CONFIG))
    r = run_cli("run", str(cfg), "--metrics", "localhost:notaport", timeout=30)
    assert r.returncode == 2
    assert "--metrics 'localhost:notaport'" in r.stderr
    assert "PORT" in r.stderr


def test_idle_connections_do_not_stall_a_scrape(engine):
    """Four connections that never send a request leave workers for a
    scrape, which answers well inside the request timeout (5 s)."""
    import socket
    e = engine(toml_with_types(CONFIG), command="run", args=["--metrics", "0"])
    port = metrics_port(e)
    idle = [socket.create_connection(("127.0.0.1", port), timeout=WAIT_S)
            for _ in range(4)]
    try:
        start = time.monotonic()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics",
                                    timeout=4) as r:
            assert r.status == 200
            r.read()
        assert time.monotonic() - start < 4
    finally:
        for s in idle:
            s.close()


def test_metrics_carry_build_info_and_start_time_only(engine):
    """As exporters do: ee_build_info and process_start_time_seconds; no
    samples of the HTTP library itself."""
    from conftest import run_cli
    e = engine(toml_with_types(CONFIG), command="run", args=["--metrics", "0"])
    text = scrape(metrics_port(e))
    version = run_cli("--version").stdout.split()[1]
    assert sample(text, "ee_build_info", version=version) == 1
    started = sample(text, "process_start_time_seconds")
    assert abs(started - time.time()) < 600, started
    assert "exposer_" not in text, text


def test_metrics_port_in_use_is_said_plainly(tmp_path):
    """The error names the address and the fix, not the HTTP library."""
    import socket
    from conftest import run_cli
    cfg = tmp_path / "app.toml"
    cfg.write_text(toml_with_types(CONFIG))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = run_cli("run", str(cfg), "--metrics", str(port), timeout=30)
    assert r.returncode == 2, r.stderr
    assert f"cannot serve metrics on 127.0.0.1:{port}: the port is in use" in r.stderr
    assert "Civet" not in r.stderr and "context" not in r.stderr, r.stderr


def test_the_engines_own_events_count_under_their_names(engine):
    e = engine(toml_with_types(CONFIG), command="run", args=["--metrics", "0"])
    port = metrics_port(e)

    def counted() -> str:
        text = scrape(port)
        if 'type="ee.stats"' not in text:
            return ""
        stats = sample(text, "ee_type_events_published_total", type="ee.stats")
        return text if stats >= 1 else ""

    text = wait_for(counted)
    for name in ("ee.lifecycle.failed", "ee.dead_letter"):
        assert sample(text, "ee_type_events_published_total", type=name) == 0
