"""`event-engine check` on [federation] (issue 18): a good configuration
passes, and each broken one fails with exit code 2 and an error at the
TOML line of the key at fault — the same validation `run` does (run gives
the same lines). Also: `listen` on port 0 logs the port it bound."""

from __future__ import annotations

from pathlib import Path
from typing import List, Tuple

import pytest

from conftest import run_cli
from fedlab import Certificates

GOOD = """\
[engine]
publish_port = 0
subscribe_port = 0

[federation]
name = "site-a.1_x"
listen = "127.0.0.1:7100"
peers = ["10.0.0.2:7100", "hub.example:7100"]
buffer_bytes = 1048576

[federation.tls]
certificate = "keys/A-ca.crt"
key = "keys/A-ca.key"
ca = "keys/ca.crt"

[[plugin]]
name = "idle"
port = 0
"""


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """An app folder with keys/ (a CA and A's certificate)."""
    root = tmp_path_factory.mktemp("app")
    Certificates(root / "keys").tls("A")
    return root


def errors(command: str, path: Path) -> Tuple[int, List[str]]:
    r = run_cli(command, str(path), timeout=20)
    return r.returncode, [l for l in r.stderr.splitlines() if " error: " in l]


def test_a_good_federation_config_passes(folder):
    app = folder / "good.toml"
    app.write_text(GOOD)
    r = run_cli("check", str(app))
    assert r.returncode == 0, r.stderr


# (what is wrong, the line to replace, its replacement, a word of the error)
BROKEN = [
    ("no_name", 'name = "site-a.1_x"', "", "name"),
    ("bad_name", 'name = "site-a.1_x"', 'name = "site a"', "name"),
    ("listen_no_port", 'listen = "127.0.0.1:7100"', 'listen = "127.0.0.1"',
     "listen"),
    ("listen_bad_port", 'listen = "127.0.0.1:7100"',
     'listen = "127.0.0.1:99999"', "listen"),
    ("peer_no_port", 'peers = ["10.0.0.2:7100", "hub.example:7100"]',
     'peers = ["10.0.0.2"]', "peer"),
    ("peer_is_itself", 'peers = ["10.0.0.2:7100", "hub.example:7100"]',
     'peers = ["127.0.0.1:7100"]', "itself"),
    ("peer_is_itself_on_any_address",
     'listen = "127.0.0.1:7100"\npeers = ["10.0.0.2:7100", "hub.example:7100"]',
     'listen = "0.0.0.0:7100"\npeers = ["127.0.0.1:7100"]', "own listen"),
    ("peer_twice", 'peers = ["10.0.0.2:7100", "hub.example:7100"]',
     'peers = ["10.0.0.2:7100", "10.0.0.2:7100"]', "twice"),
    ("tls_partial", 'ca = "keys/ca.crt"', "", "[federation.tls]"),
    ("buffer_negative", "buffer_bytes = 1048576", "buffer_bytes = -1",
     "buffer_bytes"),
    ("certificate_missing", 'certificate = "keys/A-ca.crt"',
     'certificate = "keys/nowhere.crt"', "nowhere.crt"),
    ("key_missing", 'key = "keys/A-ca.key"', 'key = "keys/nowhere.key"',
     "nowhere.key"),
    ("ca_missing", 'ca = "keys/ca.crt"', 'ca = "keys/nowhere-ca.crt"',
     "nowhere-ca.crt"),
]


@pytest.mark.parametrize("case", BROKEN, ids=[c[0] for c in BROKEN])
def test_a_broken_federation_config_fails_at_its_line(folder, case):
    name, old, new, word = case
    assert old in GOOD
    text = GOOD.replace(old, new)
    app = folder / f"{name}.toml"
    app.write_text(text)
    check_rc, check_errors = errors("check", app)
    run_rc, run_errors = errors("run", app)
    assert check_rc == run_rc == 2, (check_rc, run_rc, check_errors)
    assert check_errors and check_errors == run_errors, (check_errors,
                                                          run_errors)
    assert any(word in e for e in check_errors), check_errors
    if new:  # the error is at the line of the key at fault (the last)
        line = text.splitlines().index(new.splitlines()[-1]) + 1
        assert any(e.startswith(f"{app}:{line}:") for e in check_errors), (
            line, check_errors)


def test_listen_on_port_0_logs_the_bound_port(engine):
    e = engine({"engine": {}, "federation": {
        "name": "solo", "listen": "127.0.0.1:0"},
        "plugin": [{"name": "idle"}]}, command="run")
    port = int(e.wait_for_output(
        r"federation: listening on 127\.0\.0\.1:(\d+)").group(1))
    assert port > 0
