"""What a launched plugin gets from the engine (only its own environment and
descriptors) and how its life is logged (README, "Launched processes")."""

from __future__ import annotations

import os
import re
import signal

from conftest import PYTHON, plugin, write_script

SHOW_ENV = """\
    import os
    for k, v in sorted(os.environ.items()):
        print(f"env {k}={v}", flush=True)
    print("env done", flush=True)
"""


def env_of(e) -> dict:
    e.wait_for_output(r"\[show\] env done")
    return dict(re.findall(r"\[show\] env ([^=\s]+)=(.*)", e.output()))


def engine_env(**extra: str) -> dict:
    env = dict(os.environ)
    env.update(extra)
    return env


def test_a_plugin_gets_only_its_own_environment(engine, tmp_path):
    script = write_script(tmp_path, "show.py", SHOW_ENV)
    operator_key = str(tmp_path / "operator.key_secret")
    e = engine({"plugin": [plugin("show", "X", command=[PYTHON, str(script)],
                                  env={"OWN": "mine"})]},
               env=engine_env(EE_CURVE_CLIENT_KEY_FILE=operator_key,
                              EE_CURVE_SERVER_KEY="operator-server",
                              SECRET_TOKEN="s3cr3t", LC_ALL="C.UTF-8"))
    env = env_of(e)
    assert env["OWN"] == "mine"
    assert env["EE_PLUGIN_PORT"] == str(e.plugin_port("show"))
    assert env["PATH"] == os.environ["PATH"]
    assert env["LC_ALL"] == "C.UTF-8"  # LC_* is passed on
    # Neither the operator's key nor anything not on the list.
    assert "EE_CURVE_CLIENT_KEY_FILE" not in env, env
    assert "EE_CURVE_SERVER_KEY" not in env, env
    assert "SECRET_TOKEN" not in env, env


def test_the_inherited_variables_are_configurable(engine, tmp_path):
    script = write_script(tmp_path, "show.py", SHOW_ENV)
    e = engine({"engine": {"inherit_env": ["PATH", "SECRET_*", "EE_CURVE_*"]},
                "plugin": [plugin("show", "X",
                                  command=[PYTHON, str(script)])]},
               env=engine_env(EE_CURVE_CLIENT_KEY_FILE="/operator.key",
                              SECRET_TOKEN="s3cr3t", HOME="/home/op"))
    env = env_of(e)
    assert env["SECRET_TOKEN"] == "s3cr3t"
    assert "HOME" not in env, env
    assert "EE_CURVE_CLIENT_KEY_FILE" not in env, env  # never EE_*


def test_a_plugin_gets_no_descriptor_of_the_engine(engine, tmp_path):
    script = write_script(tmp_path, "fds.py", """\
        import os
        fds = []
        for fd in range(1024):
            try:
                os.fstat(fd)
                fds.append(fd)
            except OSError:
                pass
        print("fds " + ",".join(map(str, fds)), flush=True)
    """)
    log = tmp_path / "engine.log"
    e = engine({"plugin": [plugin("fds", "X", command=[PYTHON, str(script)])]},
               args=["--log-file", str(log)], command="run")
    assert e.wait(20) == 0, e.output()
    text = log.read_text()
    assert "[fds] fds 0,1,2\n" in text, text


def test_log_levels_follow_what_happened(engine, tmp_path):
    talk = write_script(tmp_path, "talk.py", """\
        import sys, time
        print("to stdout", flush=True)
        print("to stderr", file=sys.stderr, flush=True)
        time.sleep(60)
    """)
    calm = write_script(tmp_path, "calm.py", """\
        import sys, time
        print("calm stderr", file=sys.stderr, flush=True)
        time.sleep(60)
    """)
    fail = write_script(tmp_path, "fail.py", """\
        import sys
        sys.exit(3)
    """)
    e = engine({"engine": {"shutdown_grace_ms": 3000},
                "plugin": [
                    plugin("talk", "X", command=[PYTHON, str(talk)]),
                    plugin("calm", "X", command=[PYTHON, str(calm)],
                           stderr_level="info"),
                    # Not restarted: its one failure fails the run.
                    plugin("fail", "X", command=[PYTHON, str(fail)],
                           restart="temporary")]},
               command="run")
    e.wait_for_output(r"\[talk\] to stderr")
    e.wait_for_output(r"\[calm\] calm stderr")
    e.wait_for_output(r"\[fail\] process exited with code 3")
    e.signal(signal.SIGTERM)
    assert e.wait(20) == 3, e.output()  # 'fail' failed
    out = e.output()

    def level(text: str) -> str:
        m = re.search(r" (debug|info|warning|error) (\[[a-z]+\] )?"
                      + re.escape(text), out)
        assert m, f"{text!r} not logged:\n{out}"
        return m.group(1)

    assert level("[talk] to stdout") == "info"
    assert level("[talk] to stderr") == "warning"
    assert level("[calm] calm stderr") == "info"
    assert level("[fail] process exited with code 3") == "error"
    # A stop the engine asked for is normal.
    assert level("[talk] process stopped (SIGTERM)") == "info"
    assert level("[calm] process stopped (SIGTERM)") == "info"
    assert "killed by signal 15" not in out, out
