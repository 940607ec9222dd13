"""Fixtures for the pytest integration tests that run the real engine binaries.

Run with Debian's interpreter (it has pyzmq)::

    /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/python

The build directory is ``$EE_BUILD_DIR`` (default ``<repo>/build``); tests that
need a binary that is not there are skipped with the reason.

Everything is bounded: every engine is started on free ports (0), every wait
has a deadline, every ZeroMQ socket has LINGER 0 and a receive timeout, and
teardown terminates (SIGTERM, then SIGKILL after 5 s) any process still
running.
"""

from __future__ import annotations

import os
import re
import signal
import socket as pysocket
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Union

import pytest

# Re-exported: tests import them from here.
from zmq_helpers import (  # noqa: F401
    BAD_MSG,
    NEXT,
    PUBLISHED,
    QUIT,
    WAIT_MS,
    WAIT_S,
    Sockets,
    next_msg,
    poll_readable,
    publish,
    publish_ok,
    recv_until,
    sync_subs,
)

REPO = Path(__file__).resolve().parents[2]
PYTHON_DIR = REPO / "bridge" / "python"
if str(PYTHON_DIR) not in sys.path:
    sys.path.insert(0, str(PYTHON_DIR))

try:
    import zmq
except ImportError:  # pragma: no cover - depends on the interpreter
    zmq = None  # type: ignore[assignment]

BUILD_DIR = Path(os.environ.get("EE_BUILD_DIR") or (REPO / "build")).resolve()

#: The binaries the integration tests run, by short name.
BINARIES: Dict[str, Path] = {
    "event-engine": BUILD_DIR / "event-engine",
    "ee_test_host": BUILD_DIR / "tests" / "ee_test_host",
    "example_app": BUILD_DIR / "examples" / "example_app",
}

#: Plugin libraries built for the tests (tests/plugins) and the example's.
TEST_PLUGINS_DIR = BUILD_DIR / "tests" / "plugins"
EXAMPLE_PLUGINS_DIR = BUILD_DIR / "examples" / "plugin_library"

#: Debian's interpreter, the one with pyzmq; launched plugins use it.
PYTHON = "/usr/bin/python3"

#: Bound on an engine's start (the ready line).
READY_TIMEOUT_S = 20.0
#: [engine] shutdown_grace_ms of configs given as dicts (unless set).
SHUTDOWN_GRACE_MS = 500
#: Grace between SIGTERM and SIGKILL in teardown.
KILL_GRACE_S = 5.0

READY_RE = re.compile(r"^event-engine: ready (.*)$", re.MULTILINE)


def eventually(cond: Callable[[], Any], timeout: float = WAIT_S,
               what: Union[str, Callable[[], str]] = "the condition") -> Any:
    """Waits until ``cond()`` returns something true and returns it; raises
    AssertionError naming ``what`` (a string, or a function that describes the
    state, called only on failure) after ``timeout`` seconds.

    The one polling loop of the tests (the twin of C++'s
    ``ee::test::eventually``): the pause grows from 1 ms to 20 ms, so a quick
    condition costs little time and a slow one little CPU."""
    deadline = time.monotonic() + timeout
    pause = 0.001
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() >= deadline:
            text = what() if callable(what) else what
            raise AssertionError(f"{text}: not within {timeout} s")
        time.sleep(pause)
        pause = min(pause * 2, 0.02)


def binary_path(name: str) -> Path:
    """The path of binary ``name``; skips the test if it is not built.

    The lead may be rebuilding concurrently, so a briefly missing binary is
    waited for (up to 30 s) before skipping.
    """
    if zmq is None:
        pytest.skip(f"{sys.executable} has no pyzmq; run the tests with {PYTHON}")
    try:
        path = BINARIES[name]
    except KeyError:
        raise ValueError(f"unknown binary {name!r}; use one of {sorted(BINARIES)}")
    deadline = time.monotonic() + (30.0 if BUILD_DIR.is_dir() else 0.0)
    while not (path.is_file() and os.access(path, os.X_OK)):
        if time.monotonic() >= deadline:
            pytest.skip(
                f"{path} is not built: build with 'make -C {BUILD_DIR}' "
                "or set EE_BUILD_DIR to the build directory"
            )
        time.sleep(0.5)
    return path


# -- TOML ------------------------------------------------------------------------


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, (str, os.PathLike)):
        s = str(v)
        s = s.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{s}"'
    if isinstance(v, Mapping):
        return "{ " + ", ".join(f"{k} = {_toml_value(x)}" for k, x in v.items()) + " }"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {v!r} as TOML")


def to_toml(config: Mapping[str, Any]) -> str:
    """Writes ``{"engine": {...}, "plugin": [{...}, ...]}`` as TOML."""
    lines: List[str] = []
    for key, value in config.items():
        if key == "plugin":
            continue
        lines.append(f"[{key}]")
        lines.extend(f"{k} = {_toml_value(v)}" for k, v in value.items())
        lines.append("")
    for plugin in config.get("plugin", []):
        lines.append("[[plugin]]")
        lines.extend(f"{k} = {_toml_value(v)}" for k, v in plugin.items())
        lines.append("")
    return "\n".join(lines)


def with_free_ports(config: Mapping[str, Any]) -> Dict[str, Any]:
    """A copy of ``config`` with every port that is not given set to 0."""
    result: Dict[str, Any] = {k: v for k, v in config.items()}
    engine = dict(result.get("engine", {}))
    engine.setdefault("publish_port", 0)
    engine.setdefault("subscribe_port", 0)
    # On SIGTERM the engine waits up to shutdown_grace for plugins to take
    # their queued and delivered-but-unconfirmed events; the tests' clients
    # never confirm their last event, so keep teardown short.
    engine.setdefault("shutdown_grace_ms", SHUTDOWN_GRACE_MS)
    result["engine"] = engine
    plugins = []
    for p in result.get("plugin", []):
        p = dict(p)
        p.setdefault("port", 0)
        plugins.append(p)
    if plugins:
        result["plugin"] = plugins
    return result


# -- the engine process ----------------------------------------------------------


class EngineProcess:
    """A running engine binary whose stdout and stderr go to one log file."""

    def __init__(self, argv: List[str], log_path: Path, cwd: Path,
                 env: Optional[Mapping[str, str]] = None) -> None:
        self.argv = argv
        self.log_path = log_path
        self._log = open(log_path, "wb")
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=str(cwd),
            env=dict(env) if env is not None else None,
        )
        self.publish_port = -1
        self.subscribe_port = -1
        self.plugin_ports: Dict[str, int] = {}

    # -- output --

    def output(self) -> str:
        """Everything the process wrote so far (stdout and stderr)."""
        try:
            return self.log_path.read_bytes().decode("utf-8", "replace")
        except OSError:
            return ""

    def wait_for_output(self, pattern: Union[str, "re.Pattern[str]"],
                        timeout: float = WAIT_S) -> "re.Match[str]":
        """Waits until ``pattern`` (a regex) appears in the output."""
        rx = re.compile(pattern) if isinstance(pattern, str) else pattern
        return eventually(
            lambda: rx.search(self.output()), timeout,
            lambda: f"{rx.pattern!r} did not appear; output:\n{self.output()}")

    def wait_ready(self, timeout: float = READY_TIMEOUT_S) -> None:
        def ready() -> Optional["re.Match[str]"]:
            m = READY_RE.search(self.output())
            if not m and self.proc.poll() is not None:
                raise AssertionError(
                    f"{self.argv[0]} exited with {self.proc.returncode} before "
                    f"it was ready; output:\n{self.output()}"
                )
            return m
        m = eventually(ready, timeout,
                       lambda: f"{self.argv[0]} ready; output:\n{self.output()}")
        for key, value in re.findall(r"(\S+)=(\d+)", m.group(1)):
            if key == "publish_port":
                self.publish_port = int(value)
            elif key == "subscribe_port":
                self.subscribe_port = int(value)
            elif key.startswith("plugin."):
                self.plugin_ports[key[len("plugin."):]] = int(value)
        assert self.publish_port > 0 and self.subscribe_port > 0, m.group(0)

    def plugin_port(self, name: str) -> int:
        try:
            return self.plugin_ports[name]
        except KeyError:
            raise AssertionError(
                f"no port for plugin {name!r} in the ready line; "
                f"output:\n{self.output()}"
            ) from None

    def endpoint(self, port: int) -> str:
        return f"tcp://127.0.0.1:{port}"

    # -- lifetime --

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait(self, timeout: float = WAIT_S) -> int:
        """Waits for the exit; fails the test (with the output) on timeout."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"{self.argv[0]} still running after {timeout} s; "
                f"output:\n{self.output()}"
            ) from None

    def signal(self, sig: int) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)

    def kill(self) -> None:
        """SIGTERM, then SIGKILL after KILL_GRACE_S; always reaps."""
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGTERM)
                self.proc.wait(KILL_GRACE_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(KILL_GRACE_S)
        self._log.close()


class ProcessRegistry:
    """Tracks processes started by a test, terminated in teardown."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.engines: List[EngineProcess] = []
        self.others: List[subprocess.Popen] = []
        self._count = 0

    def next_name(self, stem: str) -> str:
        self._count += 1
        return f"{stem}{self._count}"

    def close(self) -> None:
        for e in self.engines:
            e.kill()
        for p in self.others:
            if p.poll() is None:
                try:
                    p.terminate()
                    p.wait(KILL_GRACE_S)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(KILL_GRACE_S)


@pytest.fixture
def processes(tmp_path: Path):
    registry = ProcessRegistry(tmp_path)
    try:
        yield registry
    finally:
        registry.close()


ConfigLike = Union[str, Mapping[str, Any]]


@pytest.fixture
def engine(processes: ProcessRegistry, tmp_path: Path) -> Callable[..., EngineProcess]:
    """Factory: ``engine(config, binary="event-engine", wait_ready=True,
    args=(), env=None, command=None)``; ``command="run"`` (or "check") starts
    ``BINARY run APP.toml ARGS``, None the older ``BINARY APP.toml ARGS``.

    ``config`` is TOML text or a dict ``{"engine": {...}, "plugin": [...]}``
    (missing ports become 0 = free port, shutdown_grace_ms defaults to
    SHUTDOWN_GRACE_MS). The file is written into the test's
    ``tmp_path``; the process is terminated in teardown if still running.
    """

    def start(config: ConfigLike, binary: str = "event-engine",
              wait_ready: bool = True, args: Iterable[str] = (),
              env: Optional[Mapping[str, str]] = None,
              command: Optional[str] = None) -> EngineProcess:
        path = binary_path(binary)
        text = config if isinstance(config, str) else to_toml(with_free_ports(config))
        name = processes.next_name("engine")
        cfg = tmp_path / f"{name}.toml"
        cfg.write_text(text)
        sub = [command] if command else []  # None: the older `BINARY APP.toml`
        e = EngineProcess([str(path), *sub, str(cfg), *args],
                          tmp_path / f"{name}.log", tmp_path, env)
        processes.engines.append(e)
        if wait_ready:
            e.wait_ready()
        return e

    return start


@pytest.fixture
def run_binary(processes: ProcessRegistry, tmp_path: Path) -> Callable[..., EngineProcess]:
    """Factory: ``run_binary(name, *args)`` starts a binary without a config
    file (e.g. example_app) and does not wait for a ready line."""

    def start(binary: str, *args: str,
              env: Optional[Mapping[str, str]] = None) -> EngineProcess:
        path = binary_path(binary)
        name = processes.next_name(binary)
        e = EngineProcess([str(path), *args], tmp_path / f"{name}.log",
                          tmp_path, env)
        processes.engines.append(e)
        return e

    return start


def run_cli(*args: str, timeout: float = 30.0, input: Optional[bytes] = None,
            env: Optional[Mapping[str, str]] = None,
            cwd: Optional[Path] = None) -> subprocess.CompletedProcess:
    """Runs ``event-engine ARGS...`` to its end (bounded by ``timeout``);
    returns the completed process with ``stdout`` and ``stderr`` as text."""
    path = binary_path("event-engine")
    result = subprocess.run([str(path), *args], input=input, capture_output=True,
                            timeout=timeout, env=dict(env) if env is not None else None,
                            cwd=str(cwd) if cwd else None)
    result.stdout = result.stdout.decode("utf-8", "replace")
    result.stderr = result.stderr.decode("utf-8", "replace")
    return result


class BackgroundProcess:
    """A process whose stdout and stderr go to files (e.g. ``event-engine
    tap``); terminated in teardown through the ``processes`` registry."""

    def __init__(self, registry: "ProcessRegistry", argv: List[str],
                 env: Optional[Mapping[str, str]] = None) -> None:
        name = registry.next_name(Path(argv[1] if len(argv) > 1 else argv[0]).name)
        self.out_path = registry.tmp_path / f"{name}.out"
        self.err_path = registry.tmp_path / f"{name}.err"
        self._out = open(self.out_path, "wb")
        self._err = open(self.err_path, "wb")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self._out,
                                     stderr=self._err, cwd=str(registry.tmp_path),
                                     env=dict(env) if env is not None else None)
        registry.others.append(self.proc)

    def stdout(self) -> bytes:
        return self.out_path.read_bytes()

    def stderr(self) -> str:
        return self.err_path.read_bytes().decode("utf-8", "replace")

    def wait(self, timeout: float = WAIT_S) -> int:
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"{self.proc.args} still running after {timeout} s; "
                f"stdout: {self.stdout()!r}; stderr: {self.stderr()}") from None
        self._out.close()
        self._err.close()
        return rc

    def wait_for_stderr(self, pattern: str, timeout: float = WAIT_S) -> None:
        def found() -> bool:
            if re.search(pattern, self.stderr()):
                return True
            if self.proc.poll() is not None:  # it will not come any more
                raise AssertionError(f"{pattern!r} not on stderr: {self.stderr()}")
            return False
        eventually(found, timeout, lambda: f"{pattern!r} on stderr: {self.stderr()}")


@pytest.fixture
def background(processes: ProcessRegistry) -> Callable[..., BackgroundProcess]:
    """Factory: ``background("tap", "--port", ...)`` starts ``event-engine
    tap ...`` (or any argv when ``binary=None`` and the first argument is a
    path) with its output in files."""

    def start(*args: str, env: Optional[Mapping[str, str]] = None,
              binary: Optional[str] = "event-engine") -> BackgroundProcess:
        argv = [str(binary_path(binary)), *args] if binary else list(args)
        return BackgroundProcess(processes, argv, env)

    return start


def python_env(**extra: str) -> Dict[str, str]:
    """The environment for a Python plugin process: pyevents importable."""
    env = dict(os.environ)
    old = env.get("PYTHONPATH")
    env["PYTHONPATH"] = str(PYTHON_DIR) + (os.pathsep + old if old else "")
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


# -- ZeroMQ sockets (zmq_helpers.py) ------------------------------------------


@pytest.fixture
def zsock():
    if zmq is None:
        pytest.skip(f"{sys.executable} has no pyzmq; run the tests with {PYTHON}")
    sockets = Sockets()
    try:
        yield sockets
    finally:
        sockets.close()


def free_port() -> int:
    """A TCP port that was free a moment ago (small race, acceptable)."""
    with pysocket.socket(pysocket.AF_INET, pysocket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pid_gone(pid: int) -> bool:
    """True if ``pid`` does not exist (or is a zombie nobody reaps)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state in ("Z", "X")
    except (OSError, IndexError):
        return True


# -- config and script helpers shared by the test files -------------------------


def plugin(name: str, *subscriptions: str, **extra: Any) -> Dict[str, Any]:
    """An external plugin entry of a config, on a free port."""
    return {"name": name, "port": 0, "subscriptions": list(subscriptions), **extra}


def launched(name: str, script: Path, *subscriptions: str,
             **extra: Any) -> Dict[str, Any]:
    """An external plugin entry that the engine launches: ``script`` run by
    Debian's Python with pyevents importable."""
    return plugin(name, *subscriptions, command=[PYTHON, str(script)],
                  env={"PYTHONPATH": str(PYTHON_DIR)}, **extra)


def write_script(tmp_path: Path, name: str, body: str) -> Path:
    """Writes a (dedented) Python script for a launched plugin."""
    path = tmp_path / name
    path.write_text(textwrap.dedent(body))
    return path
