"""The federation lab itself (tests/python/fedlab.py), without federation:
engines in namespaces of their own, a pyevents client in one namespace
publishing to an engine in another over the veth link, a partition that
cuts it and its return, and nothing left behind (no namespace, no
process)."""

from __future__ import annotations

import os
import subprocess


import pytest

from conftest import (PYTHON, PYTHON_DIR, pid_gone, publish_ok, to_toml,
                      with_free_ports)
from fedlab import FED_LIBRARY, PREFIX, lab, our_namespaces  # noqa: F401

# The original's functions (no quit: the inbox plugin stays for the next).
CLIENT = """
import sys, zmq, pyevents
s = pyevents.get_plugin_socket(zmq.Context(), int(sys.argv[2]), sys.argv[1])
s.setsockopt(zmq.LINGER, 0)
s.setsockopt(zmq.RCVTIMEO, int(float(sys.argv[4]) * 1000))
pyevents.publish_msg(s, sys.argv[3].encode())
"""


def publish_from(lab, name: str, to: str, port: int, event: str,
                 timeout: float) -> subprocess.CompletedProcess:
    """Runs a pyevents client in site ``name``'s namespace that publishes
    ``event`` to site ``to``'s engine (its plugin port ``port``)."""
    s = lab.sites[name]
    prefix = ["ip", "netns", "exec", s.ns] if s.ns else []
    host = lab.sites[to].address_for(name)
    env = dict(os.environ, PYTHONPATH=str(PYTHON_DIR))
    return subprocess.run([*prefix, PYTHON, "-c", CLIENT, host, str(port),
                           event, str(timeout)], env=env, capture_output=True,
                          text=True, timeout=60)


def test_engines_on_hosts_of_their_own_and_nothing_left(lab):
    lab.site("A", record=True)
    lab.site("B", record=True, inbox=True)
    lk = lab.link("A", "B")
    lab.start("A", federation=False)
    # B's ports on every interface of its host: its link to A included.
    lab.start("B", federation=False, engine={"bind_address": "0.0.0.0"})
    a, b = lab.sites["A"], lab.sites["B"]
    if lab.netns:
        nets = {os.stat(f"/proc/{s.engine.pid}/ns/net").st_ino for s in (a, b)}
        assert len(nets | {os.stat("/proc/self/ns/net").st_ino}) == 3
    port = b.engine.plugin_port("inbox")
    r = publish_from(lab, "A", "B", port, "Fed.X:1", 20)
    assert r.returncode == 0, r.stderr
    assert lab.wait_data("B", 1, origin="X") == [1]
    if lab.netns:
        lab.partition(lk)
        r = publish_from(lab, "A", "B", port, "Fed.X:2", 1)
        assert r.returncode != 0 and "zmq.error.Again" in r.stderr, r
        lab.partition(lk, up=True)
        r = publish_from(lab, "A", "B", port, "Fed.X:3", 20)
        assert r.returncode == 0, r.stderr
        assert lab.wait_data("B", 2, origin="X") == [1, 3]
    pids = lab.pids()
    assert len(pids) >= 4  # two engines, two recorders
    lab.close()
    assert not [n for n in our_namespaces()
                if n.startswith(f"{PREFIX}-{lab.id}-")]
    assert all(pid_gone(p) for p in pids), pids


def test_the_lab_plugins_on_one_engine(lab):
    """The publisher, the recorder and the counter (the actor plugin) that
    the federation tests spread over hosts, here on one engine."""
    n = 200
    lab.site("A", publish=n, count=n, record=True)
    lab.start("A", federation=False)
    lab.sync("A")
    lab.allow("A", n // 2)
    lab.wait_published("A", n // 2)
    lab.allow("A", n)
    assert lab.wait_data("A", n) == list(range(1, n + 1))
    assert lab.wait_counted("A", n) == (
        f"from A: {n} reached, {n} events, 0 out of order")


def test_the_counter_reports_gaps_repeats_and_reordering(engine, zsock):
    if not FED_LIBRARY.is_file():
        pytest.skip(f"{FED_LIBRARY} is not built")
    e = engine(to_toml(with_free_ports({"engine": {}})) + to_toml({"plugin": [
        {"name": "inbox", "port": 0},
        {"name": "counter", "library": str(FED_LIBRARY),
         "factory": "make_fed_counter", "subscriptions": ["Fed"],
         "config": {"expect": 3}}]}), command="run")
    req = zsock.req(e.plugin_port("inbox"))
    for seq in (1, 3, 3, 2, 4):
        publish_ok(req, b"Fed.X:%d" % seq)
    e.wait_for_output(r"out of order from X: 4 after 2")
    out = e.output()
    assert "from X: 3 reached, 2 events, 1 out of order" in out, out
    assert "out of order from X: 3 after 3" in out, out
    assert "out of order from X: 2 after 3" in out, out
