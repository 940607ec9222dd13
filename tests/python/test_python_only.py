"""examples/python_only: an all-Python app with named binary types, run end
to end by `event-engine run`, and the README's tap/pub walk-through on it
(the monitor driven by `pub`, watched by `tap`)."""

from __future__ import annotations

import json
import os
import signal
import time

import pytest

from conftest import REPO, WAIT_S, run_cli

zmq = pytest.importorskip("zmq")

APP = REPO / "examples" / "python_only" / "app.toml"
FREE_PORTS = ["--publish-port", "0", "--subscribe-port", "0"]


def test_python_only_example_runs_end_to_end(run_binary):
    e = run_binary("event-engine", "run", str(APP), *FREE_PORTS)
    e.wait_ready()
    assert e.wait(30) == 0, e.output()
    out = e.output()
    for seq, celsius in ((0, "20.0"), (1, "20.5"), (2, "21.0")):
        assert f"[sensor] sent reading {seq}" in out, out
        assert f"[monitor] reading {seq}: {celsius} C" in out, out
        assert f"[sensor] reading {seq} acknowledged" in out, out
    assert "[monitor] shutting down" in out
    assert "[sensor] process exited with code 0" in out
    assert "[monitor] process exited with code 0" in out
    assert "event-engine: all plugins finished" in out


def test_walk_through_pub_drives_the_monitor_and_tap_watches(run_binary, background):
    env = dict(os.environ, SENSOR_READINGS="0")
    e = run_binary("event-engine", "run", str(APP), *FREE_PORTS, env=env)
    e.wait_ready()
    e.wait_for_output(r"\[sensor\] process exited with code 0")
    tap = background("tap", "--port", str(e.subscribe_port), "--types", str(APP),
                     "--json")
    tap.wait_for_stderr("listening on")
    pub = ["pub", "--port", str(e.publish_port), "--types", str(APP)]
    # tap may join late (ZeroMQ): publish readings until it shows one.
    deadline = time.monotonic() + 15
    seq = 0
    while b"Reading" not in tap.stdout():
        assert time.monotonic() < deadline, tap.stderr()
        res = run_cli(*pub, "--type", "Reading", json.dumps({"seq": seq, "celsius": 19.5}))
        assert res.returncode == 0, res.stderr
        seq += 1
        time.sleep(0.1)
    e.wait_for_output(rf"\[monitor\] reading {seq - 1}: 19.5 C")
    res = run_cli(*pub, "--type", "Shutdown", "")
    assert res.returncode == 0, res.stderr
    assert e.wait(20) == 0, e.output()
    deadline = time.monotonic() + WAIT_S
    while b"Shutdown" not in tap.stdout() and time.monotonic() < deadline:
        time.sleep(0.05)
    tap.proc.send_signal(signal.SIGTERM)
    assert tap.wait() == 0
    events = [json.loads(l) for l in tap.stdout().decode().splitlines()]
    kinds = [ev["type"] for ev in events]
    # Each reading tap saw is followed (later) by its binary Ack.
    assert kinds[-1] == "Shutdown", kinds
    acks = [ev for ev in events if ev["type"] == "Ack"]
    assert acks and all(ev["prefix"] == "02b0" and ev["size"] == 6 for ev in acks)
    assert acks[-1]["hex"] == (seq - 1).to_bytes(4, "big").hex(), events


def test_secure_example_runs_with_keys_from_keygen(run_binary, tmp_path):
    # A copy of the example with keys made by keygen: the plugins' code is
    # unchanged, their keys come from the engine.
    src = REPO / "examples" / "python_only"
    for name in ("secure.toml", "sensor.py", "monitor.py"):
        text = (src / name).read_text()
        if name == "secure.toml":
            text = text.replace('"../../bridge/python"', json.dumps(str(REPO / "bridge" / "python")))
        (tmp_path / name).write_text(text)
    for name, folder in (("server", "keys"), ("sensor", "keys/plugins"),
                         ("monitor", "keys/plugins"), ("ops", "keys/clients")):
        res = run_cli("keygen", name, "--dir", str(tmp_path / folder))
        assert res.returncode == 0, res.stderr
    check = run_cli("check", str(tmp_path / "secure.toml"), *FREE_PORTS)
    assert check.returncode == 0, check.stderr
    assert "warning" not in check.stderr, check.stderr
    e = run_binary("event-engine", "run", str(tmp_path / "secure.toml"), *FREE_PORTS,
                   "--bind", "127.0.0.1")
    e.wait_ready()
    assert e.wait(30) == 0, e.output()
    out = e.output()
    assert "security: CURVE on the publish port" in out, out
    for seq in range(3):
        assert f"[sensor] reading {seq} acknowledged" in out, out
    assert "refused" not in out, out
    assert "event-engine: all plugins finished" in out
