"""`check`'s security warnings (issue 19.4): allow-lists others can write, a
FIFO named like a key, a plugin's own key on the engine's list, and plugin
libraries that `check` loads only when asked (loading runs their code)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import run_cli


def keygen(folder: Path, name: str) -> None:
    r = run_cli("keygen", name, "--dir", str(folder))
    assert r.returncode == 0, r.stderr


@pytest.fixture
def keys(tmp_path: Path) -> Path:
    keygen(tmp_path, "server")
    keygen(tmp_path / "clients", "ops")
    os.remove(tmp_path / "clients" / "ops.key_secret")
    keygen(tmp_path / "plugins", "p")
    return tmp_path


def app(folder: Path, plugin_extra: str = "") -> Path:
    path = folder / "app.toml"
    path.write_text(
        "[engine]\npublish_port = 0\nsubscribe_port = 0\n"
        "[engine.security]\ncurve = true\n"
        'secret_key_file = "server.key_secret"\n'
        'allowed_clients_dir = "clients"\n'                  # line 7
        '[[plugin]]\nname = "p"\nport = 0\n' + plugin_extra)  # line 11: extra
    return path


def test_a_safe_layout_has_no_warning(keys: Path):
    r = run_cli("check", str(app(keys, 'client_key_file = "plugins/p.key_secret"\n')))
    assert r.returncode == 0, r.stderr
    assert "warning" not in r.stderr, r.stderr


def test_an_allow_list_others_can_write_is_a_warning(keys: Path):
    os.chmod(keys / "clients", 0o777)
    os.chmod(keys / "clients" / "ops.key", 0o666)
    r = run_cli("check", str(app(keys)))
    assert r.returncode == 0, r.stderr
    assert (f"app.toml:7:23: warning: allowed clients folder '{keys}/clients' can "
            "be changed by other users (mode 0777)") in r.stderr, r.stderr
    assert (f"allowed key file '{keys}/clients/ops.key' can be changed by other "
            "users (mode 0666)") in r.stderr, r.stderr
    assert "chmod go-w" in r.stderr


def test_a_fifo_named_like_a_key_is_not_read(keys: Path):
    os.mkfifo(keys / "clients" / "evil.key")
    for command in ("check", "run"):
        r = run_cli(command, str(app(keys)), timeout=30)
        assert r.returncode == 2, r.stderr
        assert (f"app.toml:7:23: error: [engine.security] allowed_clients_dir: key "
                f"file '{keys}/clients/evil.key' is not a regular file") in r.stderr, \
            r.stderr


def test_a_plugin_key_on_the_engine_list_is_a_warning(keys: Path):
    shutil.copy(keys / "plugins" / "p.key", keys / "clients" / "p.key")
    r = run_cli("check", str(app(keys, 'client_key_file = "plugins/p.key_secret"\n')))
    assert r.returncode == 0, r.stderr
    assert ("app.toml:11:19: warning: plugin 'p' client_key_file: its public key is "
            "also on the engine's allow-list") in r.stderr, r.stderr
    assert "publish any type on the publish port" in r.stderr


def test_check_loads_plugin_libraries_only_when_asked(tmp_path: Path):
    if shutil.which("gcc") is None:
        pytest.skip("needs gcc")
    marker = tmp_path / "constructor-ran"
    source = tmp_path / "evil.c"
    source.write_text(
        "#include <stdio.h>\n"
        "__attribute__((constructor)) static void run(void) {\n"
        f'  FILE* f = fopen("{marker}", "w"); if (f) fclose(f);\n'
        "}\n")
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(tmp_path / "libevil.so"),
                    str(source)], check=True)
    path = tmp_path / "app.toml"
    path.write_text('[engine]\npublish_port = 0\nsubscribe_port = 0\n'
                    '[[plugin]]\nname = "e"\nlibrary = "./libevil.so"\n'
                    'factory = "make"\n')
    r = run_cli("check", str(path))
    assert r.returncode == 0, r.stderr
    assert not marker.exists(), "check ran the library's code"
    assert "plugin libraries were not loaded" in r.stdout, r.stdout
    assert "--load-plugins" in r.stdout
    loaded = run_cli("check", "--load-plugins", str(path))
    assert marker.exists()
    assert loaded.returncode == 2
    assert "has no entry point" in loaded.stderr, loaded.stderr
