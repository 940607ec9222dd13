"""A standalone pyevents plugin outlives its engine: the engine is killed
(as `podman kill` does to the engine container) and started again on the
same ports, and the plugin, waiting in next_msg all along, goes on with
the new engine's events (what `./dev containers` checks with containers)."""

from __future__ import annotations

import signal

import pytest

from conftest import free_port, plugin

pytest.importorskip("zmq")

from pyevents import Plugin, Timeout  # noqa: E402


def test_plugin_waiting_in_next_msg_goes_on_with_a_restarted_engine(engine):
    config = {"plugin": [plugin("monitor", "Reading", port=free_port()),
                         plugin("src", "Unused")]}
    first = engine(config, command="run")
    with Plugin(first.plugin_port("monitor"), "127.0.0.1") as monitor:
        with Plugin(first.plugin_port("src"), "127.0.0.1") as src:
            src.publish(b"Reading1")
        assert monitor.next_msg(timeout=20) == b"Reading1"
        # The next request reaches the first engine and stays outstanding.
        with pytest.raises(Timeout):
            monitor.next_msg(timeout=0.2)
        first.signal(signal.SIGKILL)
        first.wait()
        second = engine(config, command="run")
        with Plugin(second.plugin_port("src"), "127.0.0.1") as src:
            src.publish(b"Reading2")
        assert monitor.next_msg(timeout=20) == b"Reading2"
