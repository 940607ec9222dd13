"""`check` agrees with `run` (issue 14.4): every problem `run` finds before it
starts anything, `check` reports with the same text, at the same TOML
position, with the same exit code. The corpus is tests/configs/broken/*.toml
(each file broken on purpose); a port in use, a folder and a FIFO are made
here."""

from __future__ import annotations

import os
import re
import shutil
import socket as pysocket
from pathlib import Path
from typing import List, Tuple

import pytest

from conftest import REPO, run_cli

CORPUS = REPO / "tests" / "configs" / "broken"
CASES = sorted(CORPUS.glob("*.toml"))


def verdict(command: str, path: Path) -> Tuple[int, List[str]]:
    """The exit code and the error lines of ``event-engine COMMAND PATH``."""
    r = run_cli(command, str(path), timeout=60)
    errors = [line for line in r.stderr.splitlines() if " error: " in line
              or line.startswith("error: ")]
    return r.returncode, errors


def assert_same(path: Path) -> List[str]:
    check_rc, check_errors = verdict("check", path)
    run_rc, run_errors = verdict("run", path)
    assert check_rc == run_rc == 2, (check_rc, run_rc, check_errors, run_errors)
    assert check_errors, "check found no error"
    assert check_errors == run_errors
    return check_errors


def test_the_corpus_is_large_enough():
    assert len(CASES) >= 40


@pytest.fixture
def corpus_copy(tmp_path: Path) -> Path:
    """The corpus in a folder of its own (key modes as git cannot keep them)."""
    target = tmp_path / "broken"
    shutil.copytree(CORPUS, target)
    os.chmod(target / "keys" / "server.key_secret", 0o600)
    return target


@pytest.mark.parametrize("name", [c.name for c in CASES])
def test_check_and_run_agree(corpus_copy: Path, name: str):
    errors = assert_same(corpus_copy / name)
    # Each error names the file and, for a problem of one key, its line.
    for line in errors:
        assert line.startswith(str(corpus_copy / name) + ":"), line


def test_a_bad_bind_address_is_an_error_at_its_line(corpus_copy: Path):
    errors = assert_same(corpus_copy / "bind_address_not_an_address.toml")
    assert len(errors) == 1, errors
    assert re.search(r"\.toml:5:16: error: cannot bind the engine's ports to "
                     r"tcp://not-an-address:0 .*check bind_address", errors[0])


def test_a_bad_type_is_reported_once(corpus_copy: Path):
    errors = assert_same(corpus_copy / "type_bad_hex.toml")
    assert len(errors) == 1, errors
    assert "[types] A: hex 'zz' is not hexadecimal" in errors[0]


def test_a_port_in_use_is_one_error_at_its_key(tmp_path: Path):
    with pysocket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        app = tmp_path / "app.toml"
        app.write_text(f'[engine]\npublish_port = 0\nsubscribe_port = {port}\n'
                       f'[[plugin]]\nname = "p"\nport = 0\n')
        errors = assert_same(app)
        assert errors == [
            f"{app}:3:18: error: cannot bind the subscribe port to "
            f"tcp://127.0.0.1:{port} (Address already in use): the port is in "
            f"use by another program; pick another port (or 0 for any free "
            f"port)"], errors
    r = run_cli("check", str(app))
    assert r.returncode == 0, r.stderr
    assert "ports: test-bound on 127.0.0.1" in r.stdout, r.stdout


def test_a_folder_is_not_a_config_file(tmp_path: Path):
    folder = tmp_path / "d.toml"
    folder.mkdir()
    errors = assert_same(folder)
    assert errors == [f"{folder}: error: cannot read the config file: it is a "
                      f"folder; give the app's TOML file"], errors


def test_a_fifo_is_not_read(tmp_path: Path):
    fifo = tmp_path / "f.toml"
    os.mkfifo(fifo)
    errors = assert_same(fifo)
    assert "it is not a regular file" in errors[0], errors
