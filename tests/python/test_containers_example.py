"""What the two-container example (containers/compose.yaml) relies on, on
the host: example_app's --bind-address, and containers/example.out (what
`./dev containers` expects of the two containers) being what `./dev
example` prints."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from conftest import PYTHON, free_port, python_env

pytest.importorskip("zmq")

REPO = Path(__file__).resolve().parents[2]
LINES = REPO / "containers" / "example_lines.sh"
PY_PLUGIN = REPO / "examples" / "example_app" / "py_plugin.py"


def example_lines(output: str) -> str:
    return subprocess.run([str(LINES)], input=output, capture_output=True,
                          text=True, check=True).stdout


def listening_address(port: int, timeout: float = 20.0) -> str:
    """The IPv4 address a TCP listener on ``port`` is bound to (from
    /proc/net/tcp), waiting until there is one."""
    deadline = time.monotonic() + timeout
    while True:
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            addr, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:
                return ".".join(str(int(addr[i:i + 2], 16))
                                for i in (6, 4, 2, 0))
        if time.monotonic() >= deadline:
            raise AssertionError(f"nothing listens on port {port}")
        time.sleep(0.02)


def test_example_output_is_what_the_containers_are_checked_against(
        run_binary):
    app = run_binary("example_app", "--publish-port", "0", "--subscribe-port",
                     "0", "--plugin-port", "0")
    assert app.wait(30) == 0, app.output()
    expected = subprocess.run([str(LINES), "--expected"], capture_output=True,
                              text=True, check=True).stdout
    assert example_lines(app.output()) == expected


@pytest.mark.parametrize("bind, listens", [(None, "127.0.0.1"),
                                           ("0.0.0.0", "0.0.0.0")])
def test_bind_address_option(run_binary, bind, listens):
    port = free_port()
    args = ["--no-launch", "--publish-port", "0", "--subscribe-port", "0",
            "--plugin-port", str(port)]
    if bind:
        args += ["--bind-address", bind]
    app = run_binary("example_app", *args)
    app.wait_for_output("waiting for a pyevents plugin")
    assert listening_address(port) == listens
    res = subprocess.run([PYTHON, str(PY_PLUGIN), "--port", str(port),
                          "--timeout", "20000"], env=python_env(),
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr + app.output()
    assert app.wait(20) == 0, app.output()
