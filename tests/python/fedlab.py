"""The federation tests' laboratory: engines on hosts made by the test.

Each engine of a :class:`Lab` runs in its own **network namespace** (its
own loopback, its own addresses), and every link between two engines is a
veth pair with a /30 inside the two namespaces, so an engine is a separate
host and a partition is ``ip link set DEV down``. Names carry the prefix
``eefed<pid>`` (unique per test run) and a counter, so parallel runs never
collide; :meth:`Lab.close` (the ``lab`` fixture's finalizer) kills the
engines and deletes the namespaces with their links, and a session
finalizer deletes whatever of this run's prefix is left.

Where namespaces cannot be made (not root, ``ip netns add`` fails, or
``EE_FED_LOOPBACK=1``), the same labs run every engine on the host's
loopback with ports of their own, and say so; a partition cannot be made
there, so :meth:`Lab.partition` skips the test with the reason.

Every site's plugins are launched by its engine (so they live in its
namespace) from tests/federation: ``fed_plugin.py`` publishes
``Fed.ORIGIN:SEQ`` under the test's control or records what it gets into a
file; the actor plugin ``make_fed_counter`` counts and checks the order.
"""

from __future__ import annotations

import atexit
import itertools
import json
import os
import re
import signal
import subprocess
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import pytest

from conftest import (
    BUILD_DIR,
    PYTHON,
    PYTHON_DIR,
    REPO,
    EngineProcess,
    ProcessRegistry,
    binary_path,
    eventually,
    free_port,
    to_toml,
    with_free_ports,
)

#: Prefix of every namespace this run makes (unique per test process).
PREFIX = f"eefed{os.getpid()}"
#: The federation port inside a namespace (each namespace is its own host).
NETNS_PORT = 7100
FED_DIR = REPO / "tests" / "federation"
FED_PLUGIN = FED_DIR / "fed_plugin.py"
FED_LIBRARY = BUILD_DIR / "tests" / "federation" / "libee_fed_plugins.so"
#: Bound on a federation change: a link up, a subscription crossing hops.
FED_WAIT_S = 30.0
#: Bound on the engines noticing a link that went down (heartbeat).
DOWN_WAIT_S = 45.0

_counter = itertools.count(1)


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Runs ``ip ARGS`` (bounded); raises with its stderr on failure."""
    r = subprocess.run(["ip", *args], capture_output=True, text=True,
                       timeout=30)
    if check and r.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {r.stderr.strip()}")
    return r


def our_namespaces() -> List[str]:
    """The namespaces of this run that exist now."""
    r = ip("netns", "list", check=False)
    names = [line.split()[0] for line in r.stdout.splitlines() if line]
    return [n for n in names if n.startswith(PREFIX)]


_netns_reason: Optional[str] = None
_netns_checked = False


def netns_unavailable() -> Optional[str]:
    """None if namespaces can be made here, else why not (checked once)."""
    global _netns_checked, _netns_reason
    if _netns_checked:
        return _netns_reason
    _netns_checked = True
    if os.environ.get("EE_FED_LOOPBACK") == "1":
        _netns_reason = "EE_FED_LOOPBACK=1"
    elif os.geteuid() != 0:
        _netns_reason = "not root"
    else:
        probe = f"{PREFIX}-probe"
        try:
            ip("netns", "add", probe)
            ip("netns", "del", probe)
        except (RuntimeError, OSError, subprocess.SubprocessError) as e:
            _netns_reason = f"ip netns add failed: {e}"
        else:
            delete_stale()
    return _netns_reason


def delete_stale() -> None:
    """Deletes the namespaces of earlier runs whose process is gone (a run
    killed by SIGKILL cannot clean up after itself)."""
    r = ip("netns", "list", check=False)
    for line in r.stdout.splitlines():
        m = re.match(r"eefed(\d+)-\S+", line)
        if m and not Path(f"/proc/{m.group(1)}").exists():
            for pid in ns_pids(m.group(0)):
                _kill(pid)
            ip("netns", "del", m.group(0), check=False)


def delete_leftovers() -> None:
    """Deletes every namespace of this run (their veths go with them)."""
    for ns in our_namespaces():
        for pid in ns_pids(ns):
            _kill(pid)
        ip("netns", "del", ns, check=False)


def ns_pids(ns: str) -> List[int]:
    r = ip("netns", "pids", ns, check=False)
    return [int(p) for p in r.stdout.split()]


def descendants(pid: int) -> List[int]:
    """``pid`` and every process below it (from /proc)."""
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        for task in Path(f"/proc/{p}/task").glob("*"):
            try:
                todo += [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                pass
    return found


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


# -- certificates ---------------------------------------------------------------


def openssl(*args: str, cwd: Path) -> None:
    r = subprocess.run(["openssl", *args], cwd=str(cwd), capture_output=True,
                       text=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)}: {r.stderr.strip()}")


_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]


def make_ca(folder: Path, name: str) -> Path:
    """A self-signed CA ``NAME.crt`` / ``NAME.key`` in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    openssl("req", "-x509", *_KEY, "-keyout", f"{name}.key", "-out",
            f"{name}.crt", "-days", "2", "-subj", f"/CN={name}", cwd=folder)
    return folder / f"{name}.crt"


def make_cert(folder: Path, ca: str, name: str,
              expired: bool = False) -> Tuple[Path, Path]:
    """A certificate for ``name`` signed by CA ``ca`` (made by make_ca in
    the same folder): ``(NAME.crt, NAME.key)``. ``expired``: valid for a day
    in 2020 (``openssl ca`` takes a start and end date in the past)."""
    openssl("req", "-new", *_KEY, "-keyout", f"{name}.key", "-out",
            f"{name}.csr", "-subj", f"/CN={name}", cwd=folder)
    if not expired:
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt",
                "-CAkey", f"{ca}.key", "-CAcreateserial", "-days", "2",
                "-out", f"{name}.crt", cwd=folder)
    else:
        db = folder / f"{ca}-db"
        db.mkdir(exist_ok=True)
        (db / "index.txt").write_text("")
        (db / "serial").write_text("1000\n")
        (folder / f"{ca}-ca.cnf").write_text(f"""\
[ca]
default_ca = test_ca
[test_ca]
database = {db}/index.txt
serial = {db}/serial
new_certs_dir = {db}
default_md = sha256
policy = any
[any]
commonName = supplied
""")
        openssl("ca", "-batch", "-config", f"{ca}-ca.cnf", "-cert",
                f"{ca}.crt", "-keyfile", f"{ca}.key", "-in", f"{name}.csr",
                "-out", f"{name}.crt", "-notext", "-startdate",
                "20200101000000Z", "-enddate", "20200102000000Z", cwd=folder)
    return folder / f"{name}.crt", folder / f"{name}.key"


@dataclass
class Certificates:
    """A CA, certificates it signed (one per name), one from another CA and
    an expired one from the right CA, in one folder."""

    folder: Path

    def __post_init__(self) -> None:
        make_ca(self.folder, "ca")
        make_ca(self.folder, "other-ca")

    @property
    def ca(self) -> Path:
        return self.folder / "ca.crt"

    def tls(self, name: str, ca: str = "ca",
            expired: bool = False) -> Dict[str, str]:
        """The ``[federation.tls]`` table of a site whose certificate is
        signed by ``ca`` (``expired``: valid only in 2020); the trusted CA
        is always the right one."""
        stem = f"{name}-{ca}{'-expired' if expired else ''}"
        crt, key = make_cert(self.folder, ca, stem, expired)
        return {"certificate": str(crt), "key": str(key), "ca": str(self.ca)}


# -- sites and links ------------------------------------------------------------


@dataclass
class Site:
    """One engine of a lab: its namespace (or none), its address, its files."""

    name: str
    ns: Optional[str]
    port: int
    folder: Path
    addresses: Dict[str, str] = field(default_factory=dict)  # peer -> mine
    peers: List[str] = field(default_factory=list)  # the peers it dials
    roles: Dict[str, Any] = field(default_factory=dict)
    engine: Optional[EngineProcess] = None
    starts: int = 0

    @property
    def control(self) -> Path:
        return self.folder / "control"

    @property
    def progress(self) -> Path:
        return self.folder / "progress"

    @property
    def record(self) -> Path:
        return self.folder / "record.txt"

    def address_for(self, peer: str) -> str:
        """Where ``peer`` reaches this site."""
        return self.addresses.get(peer, "127.0.0.1")

    def output(self) -> str:
        return self.engine.output() if self.engine else ""

    def count(self, pattern: str) -> int:
        return len(re.findall(pattern, self.output(), re.MULTILINE))

    def published(self) -> int:
        try:
            return int(self.progress.read_text() or "0")
        except (OSError, ValueError):
            return 0

    def received(self) -> List[bytes]:
        """The lines the recorder plugin wrote so far."""
        try:
            return self.record.read_bytes().splitlines()
        except OSError:
            return []

    def data(self, origin: str = "A") -> List[int]:
        """The sequence numbers of ``origin``'s data events recorded here."""
        head = b"Fed.%s:" % origin.encode()
        return [int(x[len(head):]) for x in self.received() if
                x.startswith(head)]


@dataclass
class Link:
    a: str
    b: str
    dev_a: Optional[str] = None  # the veth end in a's namespace
    ns_a: Optional[str] = None


class Lab:
    """Engines on hosts of their own, joined by links; see the module doc.

    Build it with :meth:`site` and :meth:`link` (the first site dials the
    second), then :meth:`start` each site; everything is undone by
    :meth:`close` (idempotent), which the ``lab`` fixture calls."""

    def __init__(self, tmp_path: Path, processes: ProcessRegistry) -> None:
        self.reason = netns_unavailable()
        self.netns = self.reason is None
        self.id = next(_counter)
        self.tmp_path = tmp_path
        self.processes = processes
        self.sites: Dict[str, Site] = {}
        self.links: List[Link] = []
        if not self.netns:
            note = (f"federation lab on loopback ports, not network "
                    f"namespaces ({self.reason})")
            print(note)
            warnings.warn(note)

    # -- building --

    def site(self, name: str, **roles: Any) -> Site:
        """A new host ``name``. ``roles``: ``publish=N`` (the Python
        publisher, origin = the site's name), ``record=True`` (the Python
        recorder of "Fed" events; a list: of those prefixes instead), ``count=N`` (the actor plugin, expecting N per origin),
        ``inbox=True`` (a plugin port for a client the test starts),
        ``pace=S`` (the publisher pauses S seconds after each event)."""
        ns = f"{PREFIX}-{self.id}-{name}" if self.netns else None
        if ns:
            ip("netns", "add", ns)
            ip("-n", ns, "link", "set", "lo", "up")
        folder = self.tmp_path / name
        folder.mkdir(exist_ok=True)
        port = NETNS_PORT if ns else free_port()
        s = Site(name, ns, port, folder, roles=roles)
        self.sites[name] = s
        return s

    def link(self, a: str, b: str) -> Link:
        """A link between sites ``a`` and ``b`` (``a`` dials ``b``): a veth
        pair ``to-b`` / ``to-a`` with 10.77.K.1 and .2 (loopback: none)."""
        sa, sb = self.sites[a], self.sites[b]
        sa.peers.append(b)
        lk = Link(a, b)
        self.links.append(lk)
        if not self.netns:
            return lk
        k = len(self.links)
        lk.dev_a, lk.ns_a = f"to-{b}", sa.ns
        ip("link", "add", f"to-{b}", "netns", sa.ns, "type", "veth", "peer",
           "name", f"to-{a}", "netns", sb.ns)
        for s, dev, host, peer in ((sa, f"to-{b}", 1, b), (sb, f"to-{a}", 2, a)):
            address = f"10.77.{k}.{host}"
            ip("-n", s.ns, "addr", "add", f"{address}/30", "dev", dev)
            ip("-n", s.ns, "link", "set", dev, "up")
            s.addresses[peer] = address
        return lk

    # -- engines --

    def config(self, s: Site, buffer_bytes: Optional[int] = None,
               tls: Optional[Dict[str, str]] = None,
               federation: bool = True,
               engine: Optional[Dict[str, Any]] = None) -> str:
        """The app file of site ``s``: its [federation] (none if not
        ``federation``), its plugins, ``engine``: more [engine] keys."""
        text = to_toml(with_free_ports({"engine": dict(engine or {})}))
        if federation:
            host = "0.0.0.0" if self.netns else "127.0.0.1"
            fed: Dict[str, Any] = {
                "name": s.name, "listen": f"{host}:{s.port}",
                "peers": [f"{self.sites[p].address_for(s.name)}:"
                          f"{self.sites[p].port}" for p in s.peers]}
            if buffer_bytes is not None:
                fed["buffer_bytes"] = buffer_bytes
            if tls is not None:
                fed["tls"] = tls
            text += to_toml({"federation": fed})
        return text + to_toml({"plugin": self._plugins(s)})

    def _plugins(self, s: Site) -> List[Dict[str, Any]]:
        env = {"PYTHONPATH": str(PYTHON_DIR), "FED_ORIGIN": s.name,
               "FED_CONTROL": str(s.control), "FED_PROGRESS": str(s.progress),
               "FED_OUT": str(s.record)}
        plugins = []
        launched = {"port": 0, "command": [PYTHON, str(FED_PLUGIN)]}
        if "publish" in s.roles:
            plugins.append({"name": "publisher", **launched, "env": {
                **env, "FED_ROLE": "publish",
                "FED_COUNT": str(s.roles["publish"]),
                "FED_PACE_S": str(s.roles.get("pace", 0))}})
        if s.roles.get("record"):
            record = s.roles["record"]
            plugins.append({"name": "recorder", **launched,
                            "subscriptions": ["Fed"] if record is True
                            else list(record),
                            "env": {**env, "FED_ROLE": "record"}})
        if "count" in s.roles:
            plugins.append({"name": "counter", "library": str(FED_LIBRARY),
                            "factory": "make_fed_counter",
                            "subscriptions": ["Fed"],
                            "config": {"expect": s.roles["count"]}})
        if s.roles.get("inbox"):  # for a client started by the test
            plugins.append({"name": "inbox", "port": 0})
        return plugins

    def start(self, name: str, wait_ready: bool = True,
              **config: Any) -> EngineProcess:
        """Starts (or restarts) site ``name``'s engine in its namespace with
        ``--stats json``; ``config``: see :meth:`config`."""
        s = self.sites[name]
        if "count" in s.roles and not FED_LIBRARY.is_file():
            pytest.skip(f"{FED_LIBRARY} is not built")
        s.starts += 1
        app = s.folder / f"app{s.starts}.toml"
        app.write_text(self.config(s, **config))
        prefix = ["ip", "netns", "exec", s.ns] if s.ns else []
        argv = [*prefix, str(binary_path("event-engine")), "run", str(app),
                "--stats", "json"]
        s.engine = EngineProcess(argv, s.folder / f"engine{s.starts}.log",
                                 s.folder)
        self.processes.engines.append(s.engine)
        if wait_ready:
            s.engine.wait_ready()
        return s.engine

    def start_all(self, **config: Any) -> None:
        for name in self.sites:
            self.start(name, **config)

    # -- waiting --

    def wait_up(self, times: int = 1, timeout: float = FED_WAIT_S) -> None:
        """Waits until both ends of every link logged the other's peer up
        line (at least ``times`` times)."""
        for lk in self.links:
            for me, peer in ((lk.a, lk.b), (lk.b, lk.a)):
                s = self.sites[me]
                eventually(
                    lambda: s.count(rf"federation: peer {peer} up") >= times,
                    timeout, lambda: f"{me} sees {peer} up ({times}x); "
                    f"output:\n{s.output()}")

    def sync(self, origin: str = "A", timeout: float = FED_WAIT_S) -> None:
        """Waits until every recorder and counter saw a probe of
        ``origin``'s publisher: its subscriptions crossed the links."""
        probe = b"Fed?%s:" % origin.encode()
        for s in self.sites.values():
            if s.roles.get("record") is True:  # a recorder of "Fed"
                eventually(lambda: any(x.startswith(probe)
                                       for x in s.received()),
                           timeout, f"a probe of {origin} at {s.name}")
            if "count" in s.roles:
                eventually(lambda: s.count(rf"probe from {origin}\b"),
                           timeout, lambda: f"a probe of {origin} counted at "
                           f"{s.name}; output:\n{s.output()}")

    def allow(self, origin: str, limit: int) -> None:
        """Lets ``origin``'s publisher publish up to event ``limit``."""
        s = self.sites[origin]
        tmp = s.control.with_suffix(".tmp")
        tmp.write_text(str(limit))
        os.replace(tmp, s.control)

    def wait_published(self, origin: str, n: int,
                       timeout: float = FED_WAIT_S) -> None:
        s = self.sites[origin]
        eventually(lambda: s.published() >= n, timeout,
                   lambda: f"{origin} published {n} (now {s.published()})")

    def wait_data(self, name: str, n: int, origin: str = "A",
                  timeout: float = FED_WAIT_S) -> List[int]:
        """Waits until site ``name`` recorded ``n`` data events of
        ``origin``; returns their sequence numbers."""
        s = self.sites[name]
        return eventually(lambda: len(s.data(origin)) >= n and s.data(origin),
                          timeout, lambda: f"{n} events of {origin} at {name}"
                          f" (now {len(s.data(origin))})")

    def wait_counted(self, name: str, n: int, origin: str = "A",
                     timeout: float = FED_WAIT_S) -> str:
        """Waits for the counter's line on ``origin``'s last event; returns
        it ("from A: N reached, C events, B out of order")."""
        s = self.sites[name]
        rx = rf"from {origin}: {n} reached, \d+ events, \d+ out of order"
        return s.engine.wait_for_output(rx, timeout).group(0)

    # -- ends --

    def stop(self, name: str, timeout: float = 20.0) -> Dict[str, Any]:
        """SIGTERM to ``name``'s engine; returns its final stats."""
        s = self.sites[name]
        s.engine.signal(signal.SIGTERM)
        s.engine.wait(timeout)
        return final_stats(s.output())

    def kill(self, name: str) -> None:
        """SIGKILL to ``name``'s engine (its plugins die with it)."""
        s = self.sites[name]
        s.engine.signal(signal.SIGKILL)
        s.engine.wait()

    def partition(self, lk: Link, up: bool = False) -> None:
        """Takes link ``lk`` down (``up``: brings it back); skips the test on
        loopback, where no link can be cut."""
        if not self.netns:
            pytest.skip(f"a partition needs network namespaces ({self.reason})")
        ip("-n", lk.ns_a, "link", "set", lk.dev_a, "up" if up else "down")

    def pids(self) -> List[int]:
        """Every process this lab's engines run (engines and plugins)."""
        found: List[int] = []
        for s in self.sites.values():
            if s.engine and s.engine.proc.poll() is None:
                found += descendants(s.engine.pid)
            if s.ns:
                found += ns_pids(s.ns)
        return sorted(set(found))

    def close(self) -> None:
        """Kills the engines, then deletes the namespaces (and links)."""
        for s in self.sites.values():
            if s.engine:
                s.engine.kill()
            if s.ns:
                for pid in ns_pids(s.ns):
                    _kill(pid)
                ip("netns", "del", s.ns, check=False)


def final_stats(output: str) -> Dict[str, Any]:
    """The ``--stats json`` object an engine printed at its end."""
    for line in reversed(output.splitlines()):
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                continue
    raise AssertionError(f"no stats in the output:\n{output}")


def shape(lab: Lab, names: Sequence[str], links: Sequence[Tuple[str, str]],
          n: int, origin: str = "A", counter: str = "B") -> Lab:
    """Sites ``names`` joined by ``links``: ``origin`` publishes ``n``, the
    site ``counter`` runs the actor plugin, every other one a recorder."""
    for name in names:
        roles: Dict[str, Any] = {}
        if name == origin:
            roles["publish"] = n
        elif name == counter:
            roles["count"] = n
        else:
            roles["record"] = True
        lab.site(name, **roles)
    for a, b in links:
        lab.link(a, b)
    return lab


@pytest.fixture
def lab(tmp_path: Path, processes: ProcessRegistry):
    """A :class:`Lab`, closed after the test (and before ``processes``)."""
    the_lab = Lab(tmp_path, processes)
    try:
        yield the_lab
    finally:
        the_lab.close()


atexit.register(delete_leftovers)
