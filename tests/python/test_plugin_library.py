"""C++ plugins from shared libraries, loaded by `event-engine run`: an actor
plugin and a blocking plugin from one .so (the engine's dynamic_cast and
log sink are the host's), restarts that call the factory again, and every
way a library can be refused at `check` and `run`."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from conftest import (
    EXAMPLE_PLUGINS_DIR,
    REPO,
    TEST_PLUGINS_DIR,
    next_msg,
    publish_ok,
    run_cli,
)

zmq = pytest.importorskip("zmq")

TEST_LIB = TEST_PLUGINS_DIR / "libee_test_plugins.so"


@pytest.fixture(autouse=True)
def _libraries_built():
    for lib in (TEST_LIB, EXAMPLE_PLUGINS_DIR / "libexample_plugins.so"):
        if not lib.is_file():
            pytest.skip(f"{lib} is not built")


def plugin_env(folder: Path) -> dict:
    env = dict(os.environ)
    env["EE_PLUGIN_PATH"] = str(folder)
    return env


def test_example_library_runs_an_actor_and_a_blocking_plugin(engine):
    text = (REPO / "examples" / "plugin_library" / "app.toml").read_text()
    e = engine(text, command="run", wait_ready=False,
               args=["--log-format", "json"], env=plugin_env(EXAMPLE_PLUGINS_DIR))
    assert e.wait(20) == 0, e.output()
    records = [json.loads(l) for l in e.output().splitlines() if l.startswith("{")]
    # Both lines come from the library through the host's spdlog sink, with
    # the plugin as a field: one log state, shared with the library.
    assert {"counter": "counted 5 events",
            "producer": "got replies 17 17 17 17 17"} == {
        r["plugin"]: r["message"] for r in records if r["plugin"]}, records
    assert "event-engine: all plugins finished" in e.output()


def flaky_app(extra: str = "") -> str:
    return f"""\
[engine]
publish_port = 0
subscribe_port = 0
shutdown_grace_ms = 500

[types]
Job = "Job"
Done = "Done"
Ping = "Ping"
Echo = "Echo"

[[plugin]]
name = "flaky"                # an actor plugin
library = "{TEST_LIB}"
factory = "make_flaky"
subscriptions = ["Job"]
restart = "transient"
backoff_initial_ms = 1
config = {{ fail_at = 2 }}

[[plugin]]
name = "echo"                 # a blocking plugin
library = "libee_test_plugins.so"
factory = "make_echo"
subscriptions = ["Ping"]
{extra}
[[plugin]]
name = "driver"
port = 0
subscriptions = ["Done", "Echo"]
"""


def test_restart_calls_the_factory_again_and_both_kinds_work(engine, zsock):
    e = engine(flaky_app(), command="run", env=plugin_env(TEST_PLUGINS_DIR))
    req = zsock.req(e.plugin_port("driver"))
    for i in range(1, 5):
        publish_ok(req, b"Job%d" % i)
    # Job2 killed the first instance (and went to dead letters); a second
    # instance, built by the factory, took over.
    assert [next_msg(req) for _ in range(3)] == [b"Done1", b"Done3", b"Done4"]
    publish_ok(req, b"Ping-1")
    assert next_msg(req) == b"EchoPing-1"
    publish_ok(req, b"JobStop")
    publish_ok(req, b"PingStop")
    req.send(b"plugin_command: quit")
    assert e.wait(20) == 0, e.output()
    out = e.output()
    assert "[flaky] instance 1" in out and "[flaky] instance 2" in out, out
    assert "instance 3" not in out, out
    assert "failing on purpose at event 2" in out, out


def test_a_library_plugin_logs_through_the_host_sink(engine, tmp_path):
    log = tmp_path / "lib.log"
    e = engine(f"""\
[engine]
enable_tcp = false
[[plugin]]
name = "logger"
library = "{TEST_LIB}"
factory = "make_logger"
""", command="run", wait_ready=False,
               args=["--log-format", "json", "--log-file", str(log)])
    assert e.wait(20) == 0, e.output()
    records = [json.loads(l) for l in log.read_text().splitlines()]
    mine = [(r["level"], r["message"]) for r in records if r["plugin"] == "logger"]
    assert mine == [("warning", "a warning from the library"),
                    ("info", 'an "info" line from the library')], records


@pytest.mark.parametrize("entry,message", [
    ('library = "libee_no_such.so"\nfactory = "f"',
     r":\d+:11: error: plugin 'p': cannot load library 'libee_no_such.so': "
     r".*cannot open shared object file.*EE_PLUGIN_PATH"),
    ('library = "libee_test_no_entry.so"\nfactory = "f"',
     r":\d+:11: error: plugin 'p': library '.*libee_test_no_entry.so' has no "
     r"entry point ee_plugin_library\(\): it is not an event-engine plugin library"),
    ('library = "libee_test_bad_abi.so"\nfactory = "f"',
     r":\d+:11: error: plugin 'p': library '.*libee_test_bad_abi.so' was built "
     r"for plugin ABI version 999, but this event-engine \(\S+\) loads ABI "
     r"version 1: rebuild"),
    ('library = "libee_test_plugins.so"\nfactory = "make_flakey"',
     r":\d+:11: error: plugin 'p': library '.*libee_test_plugins.so' \(version "
     r"2.5.0\) has no factory 'make_flakey'; did you mean 'make_flaky'\? It has: "
     r"make_flaky, make_echo, make_logger"),
    ('library = "libee_test_plugins.so"\nfactory = "make_needs_key"',
     r":\d+:8: error: plugin 'p': factory 'make_needs_key' failed: "
     r"config.needed is missing: add needed = <integer>"),
    ('library = "libee_test_plugins.so"\nfactory = "zzz"',
     r"has no factory 'zzz'\. It has: make_flaky, make_echo, make_logger"),
    ('library = "libee_test_plugins.so"\nfactory = "make_misnamed"',
     r"factory 'make_misnamed' made a plugin named 'someone_else', not 'p'"),
    ('library = "libee_test_plugins.so"\nfactory = "make_null"',
     r"factory 'make_null' returned no plugin"),
])
def test_bad_libraries_are_refused_at_check_and_run(tmp_path, entry, message):
    cfg = tmp_path / "lib.toml"
    cfg.write_text(f'[engine]\nenable_tcp = false\n[[plugin]]\nname = "p"\n{entry}\n')
    env = plugin_env(TEST_PLUGINS_DIR)
    for sub in (["check", "--load-plugins"], ["run"]):
        res = run_cli(*sub, str(cfg), env=env)
        assert res.returncode == 2, (sub, res.stdout, res.stderr)
        assert re.search(message, res.stderr), (sub, res.stderr)
        assert "event-engine: ready" not in res.stdout


def test_check_describes_the_libraries(tmp_path):
    cfg = tmp_path / "ok.toml"
    cfg.write_text(flaky_app())
    res = run_cli("check", "--load-plugins", str(cfg),
                  env=plugin_env(TEST_PLUGINS_DIR))
    assert res.returncode == 0, res.stderr
    assert re.search(r"flaky: .*libee_test_plugins.so \(version 2.5.0, built "
                     r"with event-engine \d+\.\d+\.\d+\)", res.stdout), res.stdout
    assert "is valid (3 plugins, 4 types, 0 warnings)" in res.stdout
