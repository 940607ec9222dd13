"""Nothing a launched plugin started outlives the engine, however the engine
ends: a second Ctrl-C, SIGKILL, a crash, or a normal stop with a plugin that
ignores SIGTERM (docs/design.md, "Process ownership").

Every test launches a plugin that ignores SIGTERM and starts two children
that ignore it too: one stays in the plugin's process group, the other
leaves it with setsid. All of them carry a unique marker in their
environment, so the test counts what is left by scanning /proc.
"""

from __future__ import annotations

import os
import signal
import time
import uuid

import pytest

from conftest import PYTHON, pid_gone, plugin, write_script

GRACE_MS = 1000

TREE = """\
    import signal, subprocess, sys, time
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    stub = ("import signal, time\\n"
            "signal.signal(signal.SIGTERM, signal.SIG_IGN)\\n"
            "while True: time.sleep(1)\\n")
    subprocess.Popen([sys.executable, "-c", stub])
    subprocess.Popen([sys.executable, "-c", stub], start_new_session=True)
    print("tree ready", flush=True)
    while True:
        time.sleep(1)
"""


def marked(marker: str) -> list:
    """The live processes whose environment holds ``marker``."""
    found = []
    needle = marker.encode()
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as f:
                env = f.read()
        except OSError:
            continue
        if needle in env and not pid_gone(int(name)):
            found.append(int(name))
    return found


def wait_count(marker: str, want, timeout: float) -> list:
    """Waits until ``want(len(marked))`` holds; returns the last scan."""
    deadline = time.monotonic() + timeout
    while True:
        left = marked(marker)
        if want(len(left)) or time.monotonic() >= deadline:
            return left
        time.sleep(0.05)


def start_tree(engine, tmp_path, grace_ms: int = GRACE_MS):
    marker = "ee-orphan-test-" + uuid.uuid4().hex
    script = write_script(tmp_path, "tree.py", TREE)
    e = engine({"engine": {"shutdown_grace_ms": grace_ms},
                "plugin": [plugin("tree", "X", command=[PYTHON, str(script)],
                                  env={"ORPHAN_MARKER": marker})]},
               command="run")
    e.wait_for_output(r"\[tree\] tree ready", timeout=20)
    # The plugin and its two children.
    assert len(wait_count(marker, lambda n: n >= 3, 20)) == 3, e.output()
    return e, marker


def assert_nothing_left(e, marker, since: float) -> None:
    left = wait_count(marker, lambda n: n == 0, GRACE_MS / 1000 + 5)
    took = time.monotonic() - since
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert not left, f"{len(left)} processes outlived the engine:\n{e.output()}"
    assert took <= GRACE_MS / 1000 + 1, f"the last went after {took:.2f} s"


def test_a_second_sigint_kills_every_tree_at_once(engine, tmp_path):
    # A long grace: "now" must not wait for it.
    e, marker = start_tree(engine, tmp_path, grace_ms=20000)
    e.signal(signal.SIGINT)
    e.wait_for_output(r"signal received")
    since = time.monotonic()
    e.signal(signal.SIGINT)
    assert e.wait(10) == 130, e.output()
    left = wait_count(marker, lambda n: n == 0, 5)
    took = time.monotonic() - since
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert not left, f"{len(left)} processes outlived the engine:\n{e.output()}"
    assert took < 5, f"the last went after {took:.2f} s"


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGABRT,
                                 signal.SIGSEGV])
def test_no_process_outlives_an_engine_that_dies(engine, tmp_path, sig):
    e, marker = start_tree(engine, tmp_path)
    e.signal(sig)
    since = time.monotonic()
    rc = e.wait(10)
    if os.environ.get("EE_SANITIZED") == "1" and sig == signal.SIGSEGV:
        # AddressSanitizer catches SIGSEGV, reports and exits with 1.
        assert rc != 0, e.output()
    else:
        assert rc == -sig, e.output()
    assert_nothing_left(e, marker, since)


def test_a_normal_stop_kills_what_ignores_sigterm(engine, tmp_path):
    e, marker = start_tree(engine, tmp_path)
    since = time.monotonic()
    e.signal(signal.SIGTERM)
    rc = e.wait(10)
    assert_nothing_left(e, marker, since)
    out = e.output()
    # Killed at shutdown: a failure, named in the final line.
    assert rc == 4, out
    assert "killed (SIGKILL) the process of 'tree'" in out, out
    assert "all plugins finished" not in out, out
