"""The pyevents package installs with pip, offline, and works installed."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def test_pip_installs_pyevents(tmp_path):
    pytest.importorskip("pip")
    target = tmp_path / "site"
    # Build from a copy: pip builds in the source folder.
    source = tmp_path / "src"
    shutil.copytree(REPO / "bridge" / "python", source,
                    ignore=shutil.ignore_patterns("__pycache__", "build",
                                                  "*.egg-info"))
    build = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-index",
         "--no-build-isolation", "--no-deps", "--target", str(target),
         str(source)],
        capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert build.returncode == 0, build.stdout + build.stderr
    assert (target / "pyevents" / "py.typed").exists()
    check = subprocess.run(
        [sys.executable, "-c",
         "import pyevents, pyevents.events as e; "
         "print(pyevents.__file__); "
         "print(e.get_plugin_socket.__defaults__); "
         "print('version', pyevents.__version__)"],
        capture_output=True, text=True, timeout=60,
        env={"PYTHONPATH": str(target)}, cwd=tmp_path)
    assert check.returncode == 0, check.stderr
    assert str(target) in check.stdout
    assert "('engine',)" in check.stdout
    # Installed, the version comes from the package metadata: the one in
    # pyproject.toml (which CMake reads too).
    version = re.search(r'^version = "(.+)"$',
                        (REPO / "bridge" / "python" / "pyproject.toml").read_text(),
                        re.MULTILINE).group(1)
    assert f"version {version}" in check.stdout, check.stdout
