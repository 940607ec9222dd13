"""The `event-engine` program's command line: subcommands, --help,
--version (one version for CMake, the binary and pyevents), `check` (every
error with file:line:column and the fix), the older command line, exit
codes, named types for launched plugins (EE_TYPES) and the spdlog sink
(text, JSON, rotation)."""

from __future__ import annotations

import json
import os
import re
import signal
import socket as pysocket
import time
from pathlib import Path

import pytest

from conftest import (
    BUILD_DIR,
    launched,
    PYTHON,
    PYTHON_DIR,
    plugin,
    run_cli,
    write_script,
)

zmq = pytest.importorskip("zmq")

import pyevents  # noqa: E402


# -- version and help ------------------------------------------------------------------


def pyproject_version() -> str:
    text = (PYTHON_DIR / "pyproject.toml").read_text()
    m = re.search(r'^version = "([^"]+)"$', text, re.MULTILINE)
    assert m, "no version in pyproject.toml"
    return m.group(1)


def test_one_version_for_cmake_the_binary_and_pyevents():
    version = pyproject_version()
    res = run_cli("--version")
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith(f"event-engine {version} "), res.stdout
    assert pyevents.__version__ == version
    cache = (BUILD_DIR / "CMakeCache.txt").read_text()
    m = re.search(r"^CMAKE_PROJECT_VERSION:STATIC=(.*)$", cache, re.MULTILINE)
    assert m and m.group(1) == version, m and m.group(1)
    header = (BUILD_DIR / "include" / "ee" / "version.hpp").read_text()
    assert f'#define EE_VERSION "{version}"' in header


@pytest.mark.parametrize("sub,words", [
    ("run", ["--publish-port", "--log-file", "--log-format", "--log-max-size"]),
    ("check", ["APP.toml", "--publish-port"]),
    ("tap", ["--host", "--port", "--types", "--count", "--json", "--raw", "FILTER"]),
    ("pub", ["--host", "--port", "--type", "--types", "--hex", "--file", "DATA"]),
    ("keygen", ["NAME", "--dir", "--force", "0600"]),
])
def test_help_on_each_subcommand(sub, words):
    res = run_cli(sub, "--help")
    assert res.returncode == 0, res.stderr
    for w in words:
        assert w in res.stdout, (w, res.stdout)


def test_help_lists_the_subcommands():
    res = run_cli("--help")
    assert res.returncode == 0
    for sub in ("run", "check", "tap", "pub", "keygen"):
        assert re.search(rf"^\s+{sub}\s", res.stdout, re.MULTILINE), res.stdout


@pytest.mark.parametrize("args", [
    [],
    ["frobnicate"],
    ["run"],
    ["run", "x.toml", "--publish-port", "70000"],
    ["run", "x.toml", "--log-format", "xml"],
    ["tap", "--no-such-flag"],
    ["tap", "--json", "--raw"],
])
def test_usage_errors_exit_2(args):
    res = run_cli(*args)
    assert res.returncode == 2, (args, res.stdout, res.stderr)


# -- run and check -----------------------------------------------------------------------


def test_run_subcommand_and_older_form_both_run(engine):
    for command in ("run", None):
        e = engine({"plugin": [plugin("p", "A")]}, command=command)
        assert e.plugin_port("p") > 0


def test_check_accepts_a_valid_file_and_the_older_flag(tmp_path):
    cfg = tmp_path / "ok.toml"
    cfg.write_text('[engine]\npublish_port = 0\nsubscribe_port = 0\n'
                   '[types]\nA = "A"\n[[plugin]]\nname = "p"\nport = 0\n'
                   'subscriptions = ["A"]\n')
    for args in (["check", str(cfg)], [str(cfg), "--check"]):
        res = run_cli(*args)
        assert res.returncode == 0, res.stdout + res.stderr
        assert "is valid (1 plugin, 1 type, 0 warnings)" in res.stdout


def test_check_reports_every_error_with_position_and_fix(tmp_path):
    cfg = tmp_path / "bad.toml"
    cfg.write_text("""\
[engine]
publsh_port = 1

[types]
Reading = { hex = "01zz" }
Ack = [2, 300]

[[plugin]]
name = "a"
port = 7000
subscriptions = ["Readng"]
command = ["no-such-program-ee-cli"]

[[plugin]]
name = "a"
port = 0

[[plugin]]
name = "b"
port = 7000
""")
    res = run_cli("check", str(cfg))
    assert res.returncode == 2, res.stdout + res.stderr
    lines = res.stderr.strip().splitlines()
    f = str(cfg)
    expected = [
        f"{f}:2:1: error: unknown key 'publsh_port' in [engine]; did you mean 'publish_port'?",
        f"{f}:5:19: error: [types] Reading: hex '01zz' is not hexadecimal",
        f"{f}:6:11: error: [types] Ack: a byte must be an integer 0..255",
        f"{f}:11:18: error: plugin 'a' subscription 'Readng' names no type of [types]",
        f"{f}:12:11: error: plugin 'a': command 'no-such-program-ee-cli' not found",
        f"{f}:15:8: error: plugin name 'a' is used twice (first at line 9)",
        f"{f}:20:8: error: port 7000 of plugin 'b' is already used by plugin 'a' (line 10)",
    ]
    assert len(lines) == len(expected), res.stderr
    for line, want in zip(lines, expected):
        assert line.startswith(want), (line, want)
    assert "7 errors, 0 warnings" in res.stdout


def test_check_warns_about_overlapping_prefixes_and_refuses_busy_ports(tmp_path):
    blocker = pysocket.socket(pysocket.AF_INET, pysocket.SOCK_STREAM)
    try:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen(1)
        port = blocker.getsockname()[1]
        cfg = tmp_path / "warn.toml"
        cfg.write_text(f'[engine]\npublish_port = {port}\nsubscribe_port = 0\n'
                       '[types]\nT = "T"\nTypeA = "TypeA"\n'
                       '[[plugin]]\nname = "p"\nport = 0\n')
        res = run_cli("check", str(cfg))
    finally:
        blocker.close()
    # A port in use now is an error, as `run` would fail on it now.
    assert res.returncode == 2, res.stdout + res.stderr
    assert (f"{cfg}:5:1: warning: the prefix of type 'T' (\"T\") starts the prefix "
            "of type 'TypeA'") in res.stderr, res.stderr
    assert (f"{cfg}:2:16: error: cannot bind the publish port to "
            f"tcp://127.0.0.1:{port} (Address already in use)") in res.stderr, res.stderr
    assert "1 error, 1 warning" in res.stdout


def test_command_line_ports_are_checked_for_clashes(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[[plugin]]\nname = "p"\nport = 7311\n')
    res = run_cli("check", str(cfg), "--publish-port", "7311", "--subscribe-port", "0")
    assert res.returncode == 2
    assert "port 7311 of plugin 'p' is already used by the engine's publish_port" \
        in res.stderr, res.stderr


def test_run_refuses_a_bad_file_with_every_error_and_exit_2(engine):
    e = engine('[engine]\npublsh_port = 0\n[[plugin]]\nname = "p"\nport = 0\n'
               'subscriptions = [1]\n', wait_ready=False, command="run")
    assert e.wait(10) == 2, e.output()
    out = e.output()
    assert ":2:1: error: unknown key 'publsh_port'" in out, out
    assert ":6:18: error: plugin 'p' subscription must be" in out, out
    assert "event-engine: ready" not in out


def test_ready_file_holds_the_ready_line_while_running(engine, tmp_path):
    ready = tmp_path / "ready"
    ready.write_text("a previous run's\n")
    e = engine({"plugin": [plugin("p", "A")]}, command="run",
               wait_ready=False, args=("--ready-file", str(ready)))
    e.wait_ready()
    line = e.wait_for_output(r"event-engine: ready[^\n]*").group(0)
    deadline = time.monotonic() + 10
    while ready.read_text() != line + "\n" and time.monotonic() < deadline:
        time.sleep(0.01)  # written just after the line is printed
    assert ready.read_text() == line + "\n"
    e.signal(signal.SIGTERM)
    assert e.wait() == 0, e.output()
    assert not ready.exists()


def test_ready_file_from_the_environment_and_absent_on_bad_input(engine,
                                                                 tmp_path):
    ready = tmp_path / "ready"
    ready.write_text("a previous run's\n")
    env = dict(os.environ, EE_READY_FILE=str(ready))
    e = engine('[[plugin]]\nname = "p"\nport = 0\nsubscriptions = [1]\n',
               command="run", wait_ready=False, env=env)
    assert e.wait(10) == 2, e.output()
    assert not ready.exists()
    e = engine({"plugin": [plugin("p", "A")]}, command="run", env=env)
    deadline = time.monotonic() + 10
    while not ready.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert ready.read_text().startswith("event-engine: ready")


def test_a_file_without_plugins_is_an_error(tmp_path):
    cfg = tmp_path / "empty.toml"
    cfg.write_text("[engine]\npublish_port = 0\n")
    res = run_cli("run", str(cfg))
    assert res.returncode == 2
    assert "registers no plugin" in res.stderr


def test_unreadable_file_exit_2(tmp_path):
    res = run_cli("check", str(tmp_path / "missing.toml"))
    assert res.returncode == 2
    assert "missing.toml: error: cannot read the config file" in res.stderr


@pytest.mark.parametrize("data,what", [
    (b"a = 1 \xef\xb9\xbf\n", "U+FE7F outside quotes"),
    (b"a = 1\n[?\n", "table header needs a name"),
    (b"a = \"\xff\"\n", "invalid UTF-8"),
    (b"v = [}\n", "array element"),
])
def test_input_that_breaks_tomlplusplus_is_refused_cleanly(tmp_path, data, what):
    cfg = tmp_path / "hazard.toml"
    cfg.write_bytes(data)
    for sub in ("check", "run"):
        res = run_cli(sub, str(cfg))
        assert res.returncode == 2, res.stderr
        assert what in res.stderr, res.stderr


# -- named types reach launched plugins ----------------------------------------------------


def test_launched_plugins_get_the_types_in_EE_TYPES(engine, tmp_path):
    script = write_script(tmp_path, "show_types.py", """\
        import pyevents
        types = pyevents.types()
        print("types", sorted((k, v.hex()) for k, v in types.items()), flush=True)
        with pyevents.Plugin() as p:
            pass
    """)
    e = engine(f"""\
[engine]
publish_port = 0
subscribe_port = 0
[types]
Reading = {{ hex = "01a0" }}
Ack = [0x02, 0xb0]
Text = "Text"
[[plugin]]
name = "t"
port = 0
subscriptions = ["Reading"]
command = ["{PYTHON}", "{script}"]
env = {{ PYTHONPATH = "{PYTHON_DIR}" }}
""", command="run")
    assert e.wait(20) == 0, e.output()
    assert ("[t] types [('Ack', '02b0'), ('Reading', '01a0'), ('Text', '54657874')]"
            in e.output()), e.output()


# -- logging -------------------------------------------------------------------------------


def run_script(engine, tmp_path, name: str, body: str, *args: str):
    """Runs an app of one launched plugin, the script ``body`` (which quits
    at its end), with ``event-engine run ... ARGS``; waits for its exit 0."""
    script = write_script(tmp_path, f"{name}_plugin.py", body + """
        with Plugin() as p:
            pass
    """)
    e = engine({"plugin": [launched(name, script, "X")]}, command="run",
               args=list(args))
    assert e.wait(30) == 0, e.output()
    return e


LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} (debug|info|warning|error) ")


def test_text_log_lines_have_time_level_and_plugin(engine, tmp_path):
    e = run_script(engine, tmp_path, "hello", """\
        from pyevents import Plugin
        print("hello from the plugin", flush=True)
    """)
    lines = [l for l in e.output().splitlines() if "hello from the plugin" in l]
    assert len(lines) == 1, e.output()
    assert LOG_LINE.match(lines[0]), lines[0]
    assert lines[0].endswith("info [hello] hello from the plugin"), lines[0]


def test_json_log_to_a_file_parses_and_has_the_fields(engine, tmp_path):
    log = tmp_path / "ee.log"
    e = run_script(engine, tmp_path, "j", """\
        from pyevents import Plugin
        print('a "quoted" line', flush=True)
    """, "--log-file", str(log), "--log-format", "json", "--log-level", "debug")
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert records, "empty log"
    for r in records:
        assert set(r) == {"time", "level", "plugin", "message"}, r
        assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$",
                        r["time"]), r
        assert r["level"] in ("debug", "info", "warning", "error"), r
    assert any(r["message"].endswith('a "quoted" line') for r in records), records
    assert any(r["level"] == "debug" for r in records)
    # The log went to the file, not to the terminal.
    assert 'a "quoted" line' not in e.output()


def test_log_file_rotates(engine, tmp_path):
    log = tmp_path / "rot.log"
    run_script(engine, tmp_path, "chatty", """\
        from pyevents import Plugin
        for i in range(300):
            print(f"line {i:04d} " + "x" * 60, flush=True)
        print("last line", flush=True)
    """, "--log-file", str(log), "--log-max-size", "4096", "--log-max-files", "2")
    files = sorted(p.name for p in tmp_path.glob("rot*.log"))
    assert files == ["rot.1.log", "rot.2.log", "rot.log"], files
    for name in files:
        assert (tmp_path / name).stat().st_size <= 4096 + 200
    combined = "".join((tmp_path / name).read_text() for name in files)
    assert "last line" in combined
    assert "line 0000" not in combined  # rotated away: bounded on disk


def test_the_log_file_is_close_on_exec(engine, tmp_path):
    # Every file the engine opens is close-on-exec, the --log-file too (a
    # launched plugin that changes user must not be able to write into a
    # root-owned log). Before: opened by fopen, inherited on exec.
    log = tmp_path / "engine.log"
    e = engine({"plugin": [plugin("p", "X")]}, command="run",
               args=["--log-file", str(log)])
    fds = Path(f"/proc/{e.pid}/fd")
    found = [fd for fd in fds.iterdir() if os.readlink(fd) == str(log)]
    assert found, "the engine does not hold its log file open"
    for fd in found:
        info = Path(f"/proc/{e.pid}/fdinfo/{fd.name}").read_text()
        flags = int(re.search(r"flags:\s+([0-7]+)", info).group(1), 8)
        assert flags & os.O_CLOEXEC, f"{fd}: flags {flags:o}"


# -- machine-readable output -----------------------------------------------------------


def quitting_app(tmp_path, *, bad: bool = False):
    """An app file of one launched plugin that quits at once (``bad``: a file
    with an unknown key)."""
    from conftest import to_toml, with_free_ports
    script = write_script(tmp_path, "quits.py", """\
        from pyevents import Plugin
        print("plugin says hi", flush=True)
        with Plugin() as p:
            pass
    """)
    cfg = tmp_path / "app.toml"
    text = to_toml(with_free_ports({"plugin": [launched("q", script, "X")]}))
    if bad:
        text = text.replace("[engine]", "[engine]\npublsh_port = 1", 1)
    cfg.write_text(text)
    return cfg


def test_stats_json_alone_on_stdout(tmp_path):
    res = run_cli("run", str(quitting_app(tmp_path)), "--stats", "json")
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)  # nothing else on stdout
    assert doc["plugins"]["q"]["kind"] == "external", doc
    assert "event-engine: ready" in res.stderr, res.stderr
    assert "event-engine: all plugins finished" in res.stderr, res.stderr


@pytest.mark.parametrize("bad", [False, True])
def test_json_log_format_makes_every_stderr_line_json(tmp_path, bad):
    res = run_cli("run", str(quitting_app(tmp_path, bad=bad)),
                  "--log-format", "json")
    assert res.returncode == (2 if bad else 0), res.stderr
    records = [json.loads(line) for line in res.stderr.splitlines()]
    messages = [r["message"] for r in records]
    if bad:
        assert any("unknown key 'publsh_port'" in m for m in messages), messages
        assert any(r["level"] == "error" for r in records), records
    else:
        assert any(m.startswith("event-engine: ready ") for m in messages)
        assert "event-engine: all plugins finished" in messages, messages
        assert any(m.endswith("plugin says hi") for m in messages), messages


def test_log_file_records_ready_and_the_end(tmp_path):
    log = tmp_path / "run.log"
    res = run_cli("run", str(quitting_app(tmp_path)), "--log-file", str(log))
    assert res.returncode == 0, res.stderr
    text = log.read_text()
    assert "event-engine: ready " in text, text
    assert "event-engine: all plugins finished" in text, text
    assert "event-engine: ready " in res.stderr, res.stderr


def test_log_file_in_a_missing_folder_is_refused(tmp_path):
    log = tmp_path / "missing" / "x.log"
    res = run_cli("run", str(quitting_app(tmp_path)), "--log-file", str(log))
    assert res.returncode == 2, res.stderr
    assert f"the folder {log.parent} does not exist" in res.stderr, res.stderr
    assert not log.parent.exists()


# -- command-line habits ---------------------------------------------------------------


def test_help_and_version_subcommands_and_short_flags():
    version = pyproject_version()
    for args in (["version"], ["-V"], ["--version"]):
        res = run_cli(*args)
        assert res.returncode == 0, (args, res.stderr)
        assert res.stdout.startswith(f"event-engine {version} "), res.stdout
    for args in (["help"], ["-h"]):
        res = run_cli(*args)
        assert res.returncode == 0, (args, res.stderr)
        assert re.search(r"^\s+tap\s", res.stdout, re.MULTILINE), res.stdout
    res = run_cli("help", "pub")
    assert res.returncode == 0, res.stderr
    assert "--timeout" in res.stdout and "keygen" not in res.stdout, res.stdout


def test_a_mistyped_subcommand_gets_a_suggestion(tmp_path):
    for args in (["runn", "app.toml"], ["help", "tapp"]):
        res = run_cli(*args)
        assert res.returncode == 2, (args, res.stderr)
        assert "did you mean" in res.stderr, res.stderr
        assert "cannot read the config file" not in res.stderr, res.stderr


def test_check_help_lists_only_what_check_uses():
    res = run_cli("check", "--help")
    assert res.returncode == 0, res.stderr
    assert "--publish-port" in res.stdout, res.stdout
    for unused in ("--metrics", "--stats", "--log-file", "--log-format", "--log-level"):
        assert unused not in res.stdout, (unused, res.stdout)


def test_quiet_and_verbose_set_the_log_level(tmp_path):
    cfg = str(quitting_app(tmp_path))
    quiet = run_cli("run", cfg, "-q")
    assert quiet.returncode == 0, quiet.stderr
    assert "plugin says hi" not in quiet.stderr, quiet.stderr
    assert "event-engine: ready" in quiet.stderr, quiet.stderr
    verbose = run_cli("run", cfg, "-v", "--log-format", "json")
    assert verbose.returncode == 0, verbose.stderr
    levels = {json.loads(l)["level"] for l in verbose.stderr.splitlines()}
    assert "debug" in levels, verbose.stderr
    assert run_cli("run", cfg, "-q", "-v").returncode == 2


def test_messages_read_as_sentences(tmp_path):
    cfg = tmp_path / "words.toml"
    cfg.write_text('[engine]\npublish_port = 0\nsubscribe_port = 0\n'
                   'queue_bytes = 0\n[[plugin]]\nname = "p"\nport = 0\n'
                   'restart = "sometimes"\n')
    res = run_cli("check", str(cfg))
    assert res.returncode == 2, res.stderr
    assert "restart is 'sometimes'. Use " in res.stderr, res.stderr
    assert "out of range 1..2^40" in res.stderr, res.stderr
    assert "1099511627776" not in res.stderr, res.stderr
    assert "2 errors, 0 warnings" in res.stdout, res.stdout
