"""Supervision of external plugin processes, and the start barrier that waits
for external processes, against the real engine host."""

from __future__ import annotations

import re
import time

import pytest

from conftest import PYTHON, PYTHON_DIR, WAIT_S, pid_gone, plugin, write_script

zmq = pytest.importorskip("zmq")

from pyevents import Plugin  # noqa: E402


def test_killed_plugin_is_restarted_and_loses_nothing(engine, tmp_path):
    """A launched consumer SIGKILLs itself mid-stream on its first run; the
    engine restarts it and the new process continues where the old one
    stopped: every event arrives, in order (the one in flight when the
    process died is delivered again, since it was never confirmed)."""
    marker = tmp_path / "killed-once"
    record = tmp_path / "record.txt"
    script = write_script(tmp_path, "consumer.py", f"""\
        import os, signal
        from pyevents import Plugin
        with Plugin() as p:
            while True:
                ev = p.next_msg(timeout=20)
                with open({str(record)!r}, "a") as f:
                    f.write(ev.decode() + "\\n")
                if ev == b"Data:49" and not os.path.exists({str(marker)!r}):
                    open({str(marker)!r}, "w").close()
                    os.kill(os.getpid(), signal.SIGKILL)
                if ev == b"Data:199":
                    break
        print("consumer done", flush=True)
    """)
    e = engine({
        "engine": {"max_restarts": 5},
        "plugin": [
            plugin("feeder", "Unused"),
            plugin("consumer", "Data", command=[PYTHON, str(script)],
                   env={"PYTHONPATH": str(PYTHON_DIR)}, restart="transient",
                   backoff_initial_ms=10),
        ],
    })
    with Plugin(e.plugin_port("feeder"), "127.0.0.1") as feeder:
        for i in range(200):
            feeder.publish(f"Data:{i}".encode(), timeout=WAIT_S)
    rc = e.wait(30)
    out = e.output()
    assert rc == 0, out
    assert marker.exists(), out
    assert "killed by signal 9" in out, out
    assert "restarts in" in out, out
    lines = record.read_text().split()
    numbers = [int(x.split(":")[1]) for x in lines]
    assert sorted(set(numbers)) == list(range(200)), out
    # Ordered, and at most the event in flight at the kill seen twice.
    assert numbers == sorted(numbers)
    assert len(numbers) - len(set(numbers)) <= 1
    assert "[consumer] consumer done" in out


def test_failing_process_escalates_with_a_clear_error(engine, tmp_path):
    script = write_script(tmp_path, "crash.py", """\
        import sys
        print("about to fail", flush=True)
        sys.exit(3)
    """)
    e = engine({
        "engine": {"max_restarts": 2},
        "plugin": [plugin("crashy", "X", command=[PYTHON, str(script)],
                          restart="permanent", backoff_initial_ms=5)],
    })
    rc = e.wait(30)
    out = e.output()
    assert rc == 3, out   # a plugin failed for good
    assert "restart_limit" in out, out
    assert "plugin 'crashy'" in out and "exited with code 3" in out, out
    assert len(re.findall(r"\[crashy\] about to fail", out)) == 3, out


def test_barrier_can_wait_for_external_processes(engine, tmp_path):
    """With await_first_request, no internal plugin starts before the
    external process made its first request: an event published early is
    answered by the echo plugin only after that."""
    script = write_script(tmp_path, "slow_start.py", """\
        import time
        from pyevents import Plugin
        time.sleep(1.5)          # slow start-up: the barrier waits for us
        with Plugin() as p:
            p.publish(b"PingFirst", timeout=10)
            print("got", p.next_msg(timeout=10).decode(), flush=True)
    """)
    e = engine({"plugin": [
        plugin("slow", "PongFirst", command=[PYTHON, str(script)],
               env={"PYTHONPATH": str(PYTHON_DIR)}, await_first_request=True),
        plugin("src", "Unused"),
        plugin("watch", "PongEarly"),
    ]}, binary="ee_test_host")
    with Plugin(e.plugin_port("src"), "127.0.0.1") as src, \
            Plugin(e.plugin_port("watch"), "127.0.0.1") as watch:
        src.publish(b"PingEarly", timeout=WAIT_S)
        t0 = time.monotonic()
        with pytest.raises(Exception):   # the echo plugin has not started
            watch.next_msg(timeout=0.5)
        assert watch.next_msg(timeout=10) == b"PongEarly"
        assert time.monotonic() - t0 > 0.8   # only after the slow start-up
        src.publish(b"PingStop", timeout=WAIT_S)
    rc = e.wait(30)
    out = e.output()
    assert rc == 0, out
    assert "[slow] got PongFirst" in out, out


def test_sigterm_stops_launched_processes(engine, tmp_path):
    script = write_script(tmp_path, "forever.py", """\
        import time
        from pyevents import Plugin
        with Plugin() as p:
            while True:
                try:
                    p.next_msg(timeout=1)
                except Exception:
                    pass
    """)
    e = engine({"engine": {"shutdown_grace_ms": 1000},
                "plugin": [plugin("forever", "X", command=[PYTHON, str(script)],
                                  env={"PYTHONPATH": str(PYTHON_DIR)})]})
    m = e.wait_for_output(r"launched pid (\d+)")
    pid = int(m.group(1))
    time.sleep(0.3)
    e.signal(15)
    assert e.wait(10) == 0, e.output()
    deadline = time.monotonic() + 5
    while not pid_gone(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert pid_gone(pid)


def test_children_die_with_the_engine(engine, tmp_path):
    """Even when the engine is SIGKILLed (no chance to clean up), its launched
    processes go too (the process keeper; test_process_ownership.py counts
    whole trees)."""
    script = write_script(tmp_path, "orphan.py", """\
        import time
        while True:
            time.sleep(0.1)
    """)
    e = engine({"plugin": [plugin("orphan", "X", command=[PYTHON, str(script)])]})
    pid = int(e.wait_for_output(r"launched pid (\d+)").group(1))
    assert not pid_gone(pid)
    e.signal(9)
    e.wait(10)
    deadline = time.monotonic() + 5
    while not pid_gone(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert pid_gone(pid)


def test_event_of_a_vanished_connection_goes_to_the_next_request(engine, zsock):
    """Clients that get an event and close their socket before confirming it
    (by asking again) give it back: nothing is lost and the plugin never
    stalls, however many connections vanish."""
    # Six vanishing receivers: the first event is sent six times, so it must
    # be allowed that many attempts (with the default of three it would go
    # to dead letters after the third).
    e = engine({"engine": {"queue_capacity": 4},
                "plugin": [plugin("src", "Unused"),
                           plugin("dst", "Ev", max_delivery_attempts=10)]})
    with Plugin(e.plugin_port("src"), "127.0.0.1") as src:
        for i in range(10):
            src.publish(f"Ev{i}".encode(), timeout=WAIT_S)
        for _ in range(6):   # more vanishing receivers than the queue holds
            s = zmq.Context.instance().socket(zmq.REQ)
            s.setsockopt(zmq.LINGER, 0)
            s.setsockopt(zmq.RCVTIMEO, 5000)
            s.connect(f"tcp://127.0.0.1:{e.plugin_port('dst')}")
            s.send(b"plugin_command: next_msg")
            assert s.recv().startswith(b"Ev")
            s.close()
        with Plugin(e.plugin_port("dst"), "127.0.0.1") as dst:
            got = [dst.next_msg(timeout=5) for _ in range(10)]
    # Each event exactly once. (A vanished connection is noticed
    # asynchronously: the next client may get Ev1 before Ev0 comes back, so
    # the order of redelivered events is not fixed.)
    assert sorted(got) == [f"Ev{i}".encode() for i in range(10)]


def test_grandchildren_are_stopped_too(engine, tmp_path):
    pidfile = tmp_path / "grandchild.pid"
    e = engine({"engine": {"shutdown_grace_ms": 1000},
                "plugin": [plugin("shell", "X", command=[
                    "/bin/sh", "-c", f"sleep 300 & echo $! > {pidfile}; wait"])]})
    deadline = time.monotonic() + 10
    while not (pidfile.exists() and pidfile.read_text().strip()):
        assert time.monotonic() < deadline, e.output()
        time.sleep(0.05)
    grandchild = int(pidfile.read_text())
    assert not pid_gone(grandchild)
    e.signal(15)
    assert e.wait(10) == 0, e.output()
    deadline = time.monotonic() + 5
    while not pid_gone(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert pid_gone(grandchild)


def test_a_launched_plugin_that_crashes_is_restarted_by_default(engine, tmp_path):
    """No `restart` in its entry: a launched plugin is `transient`
    (docs/configuration.md), so one crash does not leave it gone."""
    marker = tmp_path / "crashed-once"
    script = write_script(tmp_path, "crash_once.py", f"""\
        import os, sys
        from pyevents import Plugin
        if not os.path.exists({str(marker)!r}):
            open({str(marker)!r}, "w").close()
            print("crashing", flush=True)
            sys.exit(3)
        with Plugin() as p:
            print("second run", flush=True)
            p.quit()
    """)
    e = engine({"plugin": [plugin("once", "X", command=[PYTHON, str(script)],
                                  env={"PYTHONPATH": str(PYTHON_DIR)},
                                  backoff_initial_ms=5)]})
    rc = e.wait(30)
    out = e.output()
    assert rc == 0, out
    assert "[once] crashing" in out and "[once] second run" in out, out
