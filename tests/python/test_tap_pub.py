"""`event-engine tap` and `event-engine pub` against a running `event-engine
run` (real processes, real sockets): tap shows exactly the filtered events
(text, --json, --raw, --count), pub's events reach external plugins (from
arguments, --hex stdin lines, --file), and the errors are clear."""

from __future__ import annotations

import json
import re
import signal
import time
from typing import List

import pytest

from conftest import (
    PYTHON,
    PYTHON_DIR,
    WAIT_S,
    free_port,
    next_msg,
    publish_ok,
    run_cli,
    write_script,
)

zmq = pytest.importorskip("zmq")

TYPES = """\
[types]
Probe = "Probe"
TypeA = "TypeA"
TypeB = "TypeB"
TypeC = "TypeC"
Bin = { hex = "01a0" }
"""


def app_text(plugins: str) -> str:
    return ("[engine]\npublish_port = 0\nsubscribe_port = 0\n"
            "shutdown_grace_ms = 300\n" + TYPES + plugins)


SINK = '[[plugin]]\nname = "sink"\nport = 0\nsubscriptions = ["TypeA", "Bin"]\n'


def wait_for(cond, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what} not within {timeout} s")
        time.sleep(0.02)


def start_tap(engine, background, zsock, *tap_args: str, types: bool = True):
    """An engine with the "sink" plugin, a REQ socket on its port and a
    running `tap TAP_ARGS` (with the app's --types unless ``types`` is
    false). Returns (engine, req, tap)."""
    e = engine(app_text(SINK), command="run")
    req = zsock.req(e.plugin_port("sink"))
    args = ["tap", "--port", str(e.subscribe_port)]
    if types:
        args += ["--types", e.argv[2]]
    tap = background(*args, *tap_args)
    tap.wait_for_stderr("listening on")
    return e, req, tap


def tap_lines(tap) -> List[str]:
    return tap.stdout().decode("utf-8", "replace").splitlines()


def sync_tap(tap, req, probe_type: str = "Probe", json_mode: bool = True) -> None:
    """ZeroMQ slow joiner: publishes probes until tap shows one."""
    n = 0

    def seen() -> bool:
        nonlocal n
        n += 1
        publish_ok(req, f"{probe_type}{n}".encode())
        time.sleep(0.05)
        return any(probe_type in line for line in tap_lines(tap))

    wait_for(seen, 15, "a probe event in tap's output")


def test_tap_shows_exactly_the_filtered_events(engine, background, zsock):
    e, req, tap = start_tap(engine, background, zsock, "--json", "Probe",
                            "TypeA", "Bin")
    sync_tap(tap, req)
    sent = [b"TypeA1", b"TypeB1", b"TypeC1", b"\x01\xa0\xff\x00", b"TypeBx",
            b"TypeA2 two", b"Other", b"\x01\xa1no", b"ProbeEnd"]
    for ev in sent:
        publish_ok(req, ev)
    wait_for(lambda: any('"text":"End"' in l for l in tap_lines(tap)), WAIT_S,
             "ProbeEnd in tap's output")
    records = [json.loads(l) for l in tap_lines(tap)]
    shown = [r for r in records if r["type"] != "Probe"]
    assert shown == [
        {"time": shown[0]["time"], "type": "TypeA", "prefix": "5479706541",
         "size": 6, "text": "1"},
        {"time": shown[1]["time"], "type": "Bin", "prefix": "01a0", "size": 4,
         "hex": "ff00"},
        {"time": shown[2]["time"], "type": "TypeA", "prefix": "5479706541",
         "size": 10, "text": "2 two"},
    ], records
    for r in shown:
        assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", r["time"]), r
    tap.proc.send_signal(signal.SIGTERM)
    assert tap.wait() == 0


def test_tap_text_mode_with_literal_filters(engine, background, zsock):
    # No --types: filters are literal prefixes, the column shows the prefix.
    e, req, tap = start_tap(engine, background, zsock, "Probe", "Type",
                            "hex:01a0", types=False)
    sync_tap(tap, req)
    for ev in [b"TypeA hello", b"Nope", b"\x01\xa0\x00\x01", b"ProbeEnd"]:
        publish_ok(req, ev)
    wait_for(lambda: any("ProbeEnd" in l for l in tap_lines(tap)), WAIT_S,
             "ProbeEnd in tap's output")
    tap.proc.send_signal(signal.SIGINT)
    assert tap.wait() == 0
    lines = [l for l in tap_lines(tap) if "Probe" not in l]
    ts = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}"
    assert len(lines) == 2, tap_lines(tap)
    assert re.fullmatch(ts + r"  Type  11 B  TypeA hello", lines[0]), lines[0]
    assert re.fullmatch(ts + r"  hex:01a0  4 B  hex:01a00001", lines[1]), lines[1]


def test_tap_count_stops_after_n_events(engine, background, zsock):
    e, req, tap = start_tap(engine, background, zsock, "--count", "3", "Bin")
    deadline = time.monotonic() + 15
    i = 0
    while tap.proc.poll() is None and time.monotonic() < deadline:
        publish_ok(req, b"\x01\xa0" + b"%d" % i)
        i += 1
        time.sleep(0.02)
    assert tap.wait(WAIT_S) == 0
    lines = tap_lines(tap)
    assert len(lines) == 3, lines
    assert all(re.search(r"  Bin  \d+ B  \d+$", l) for l in lines), lines


def test_tap_raw_writes_the_bytes(engine, background, zsock):
    e, req, tap = start_tap(engine, background, zsock, "--count", "1", "--raw", "Bin")
    # Bin probes: the first one tap gets ends it.
    deadline = time.monotonic() + 15
    while tap.proc.poll() is None and time.monotonic() < deadline:
        publish_ok(req, b"\x01\xa0\x00\xffraw\n")
        time.sleep(0.05)
    assert tap.wait(WAIT_S) == 0
    assert tap.stdout() == b"\x01\xa0\x00\xffraw\n"


def test_pub_events_reach_a_launched_external_plugin(engine, tmp_path):
    script = write_script(tmp_path, "reader.py", """\
        import pyevents
        with pyevents.Plugin() as p:
            for _ in range(5):
                print("got", p.next_msg(timeout=20).hex(), flush=True)
    """)
    e = engine(app_text(f"""\
[[plugin]]
name = "reader"
port = 0
subscriptions = ["TypeA", "Bin"]
command = ["{PYTHON}", "{script}"]
env = {{ PYTHONPATH = "{PYTHON_DIR}" }}
"""), command="run")
    cfg = e.argv[2]
    port = str(e.publish_port)
    res = run_cli("pub", "--port", port, "--types", cfg, "--type", "TypeA",
                  "hello", "world")
    assert res.returncode == 0, res.stderr
    assert f"published 1 event to tcp://127.0.0.1:{port}" in res.stderr
    res = run_cli("pub", "--port", port, "--hex", input=b"01a0ff00\nTypeB-not-hex\n")
    assert res.returncode == 2, res.stderr  # bad hex: nothing published
    assert "is not hexadecimal" in res.stderr
    res = run_cli("pub", "--port", port, "--hex", input=b"01a0ff00\n01a0 0102\n")
    assert res.returncode == 0, res.stderr
    assert "published 2 events" in res.stderr
    blob = tmp_path / "event.bin"
    blob.write_bytes(b"\x00\n\xff")
    res = run_cli("pub", "--port", port, "--types", cfg, "--type", "Bin",
                  "--file", str(blob))
    assert res.returncode == 0, res.stderr
    res = run_cli("pub", "--port", port, "TypeB ignored by the reader")
    assert res.returncode == 0, res.stderr
    res = run_cli("pub", "--port", port, "TypeAlast")
    assert res.returncode == 0, res.stderr
    assert e.wait(20) == 0, e.output()
    got = re.findall(r"\[reader\] got ([0-9a-f]+)", e.output())
    assert got == [b"TypeAhello world".hex(), "01a0ff00", "01a00102",
                   "01a0000aff", b"TypeAlast".hex()], e.output()


def test_pub_from_stdin_lines_in_order(engine, zsock):
    e = engine(app_text(SINK), command="run")
    lines = b"".join(b"TypeA%03d\n" % i for i in range(200))
    res = run_cli("pub", "--port", str(e.publish_port), input=lines)
    assert res.returncode == 0, res.stderr
    assert "published 200 events" in res.stderr
    req = zsock.req(e.plugin_port("sink"))
    got = [next_msg(req) for _ in range(200)]
    assert got == [b"TypeA%03d" % i for i in range(200)]


def test_pub_without_an_engine_fails_promptly():
    start = time.monotonic()
    res = run_cli("pub", "--port", str(free_port()), "--timeout", "0.5", "x")
    assert res.returncode == 1, res.stderr
    assert "no engine subscribed" in res.stderr
    assert time.monotonic() - start < 5


def test_pub_type_errors(tmp_path):
    cfg = tmp_path / "t.toml"
    cfg.write_text(app_text(SINK))
    res = run_cli("pub", "--type", "TypeA", "x")
    assert res.returncode == 2 and "--type needs --app" in res.stderr
    res = run_cli("pub", "--types", str(cfg), "--type", "TypeAA", "x")
    assert res.returncode == 2
    assert "defines no type 'TypeAA'; did you mean 'TypeA'?" in res.stderr
    res = run_cli("pub", "--file", str(cfg), "x")
    assert res.returncode == 2 and "not both" in res.stderr


# -- tap never waits silently ------------------------------------------------------------


def test_tap_takes_the_port_from_the_app_file(engine, background, zsock):
    e = engine(app_text(SINK).replace("subscribe_port = 0",
                                      f"subscribe_port = {free_port()}"),
               command="run")
    req = zsock.req(e.plugin_port("sink"))
    tap = background("tap", "--app", e.argv[2], "--json", "Probe")
    tap.wait_for_stderr(rf"subscribe port {e.subscribe_port}.* from {re.escape(e.argv[2])}")
    tap.wait_for_stderr("connected")
    sync_tap(tap, req)


def test_tap_without_an_engine_says_so_after_its_timeout(tmp_path):
    port = free_port()
    res = run_cli("tap", "--port", str(port), "--timeout", "1", timeout=WAIT_S * 3)
    assert res.returncode == 1, res.stderr
    assert f"no engine at 127.0.0.1:{port}" in res.stderr, res.stderr


def test_the_engines_own_events_are_named_and_shown_as_text(engine, background):
    e = engine(app_text(SINK).replace("[engine]\n", "[engine]\nstats_interval_ms = 100\n"),
               command="run")
    text = background("tap", "--port", str(e.subscribe_port), "--count", "1", "ee.stats")
    as_json = background("tap", "--port", str(e.subscribe_port), "--count", "1",
                         "--json", "ee.stats")
    assert text.wait(WAIT_S) == 0 and as_json.wait(WAIT_S) == 0
    line = text.stdout().decode()
    assert re.search(r'  ee\.stats  \d+ B  \\n\{"routed":\d+', line), line
    record = json.loads(as_json.stdout())
    assert record["type"] == "ee.stats", record
    assert json.loads(record["text"])["plugins"]["sink"]["kind"] == "external"


def test_tap_suggests_a_type_for_a_mistyped_name(engine, background):
    e = engine(app_text(SINK), command="run")
    tap = background("tap", "--port", str(e.subscribe_port), "--types", e.argv[2],
                     "TypeAA")
    tap.wait_for_stderr("'TypeAA' is not a type of .*; did you mean 'TypeA'\\?")


def test_a_config_with_types_subscribes_to_engine_events_by_name(tmp_path):
    cfg = tmp_path / "app.toml"
    cfg.write_text(app_text('[[plugin]]\nname = "mon"\nport = 0\n'
                            'subscriptions = ["ee.stats", "ee.lifecycle.failed"]\n'))
    res = run_cli("check", str(cfg))
    assert res.returncode == 0, res.stdout + res.stderr


def test_tap_refuses_an_app_file_with_a_free_port(tmp_path):
    cfg = tmp_path / "app.toml"
    cfg.write_text(app_text(SINK))
    res = run_cli("tap", "--app", str(cfg))
    assert res.returncode == 2, res.stderr
    assert "picks a free port at each run: give --port" in res.stderr
