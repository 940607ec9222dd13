"""examples/federation (issue 18): the hub and a field site, two engines on
one machine exchanging events both ways over a federation link — the
camera's detections reach the hub's scorer, the scores come back, and the
site ends once every detection was scored. Run from a copy whose hub
listens on port 0 (the port it logs is the site's peer)."""

from __future__ import annotations

import shutil
from pathlib import Path

from conftest import PYTHON_DIR, REPO, free_port

EXAMPLE = REPO / "examples" / "federation"


def copy(tmp_path: Path, name: str, **replace: str) -> str:
    text = (EXAMPLE / name).read_text()
    text = text.replace('"../../bridge/python"', f'"{PYTHON_DIR}"')
    for old, new in replace.items():
        assert old in text, old
        text = text.replace(old, new)
    for script in ("camera.py", "scorer.py"):
        shutil.copy(EXAMPLE / script, tmp_path / script)
    return text


def test_a_site_and_the_hub_exchange_events(engine, tmp_path):
    hub = engine(copy(tmp_path, "hub.toml", **{
        '"127.0.0.1:7100"': '"127.0.0.1:0"'}), command="run")
    port = hub.wait_for_output(
        r"federation: listening on 127\.0\.0\.1:(\d+)").group(1)
    site = engine(copy(tmp_path, "site.toml", **{
        '"127.0.0.1:7100"': f'"127.0.0.1:{port}"'}), command="run",
        env=None)
    assert site.wait(60) == 0, site.output()
    out = site.output()
    for n, animal in enumerate(["lynx", "red deer", "wild boar"]):
        assert f"site-a/{n} scored" in out, out
        assert f"site-a/{n}: {animal}, score" in hub.output()
    assert "all 3 detections scored by the hub" in out
    assert "federation: peer hub up" in out
    assert "federation: peer site-a up" in hub.output()


def test_the_site_may_start_before_the_hub(engine, tmp_path):
    """The site dials with back-off; its detections wait for the hub."""
    port = free_port()
    site = engine(copy(tmp_path, "site.toml", **{
        '"127.0.0.1:7100"': f'"127.0.0.1:{port}"'}), command="run")
    site.wait_for_output(r"federation: peer 127\.0\.0\.1:\d+ unreachable")
    hub = engine(copy(tmp_path, "hub.toml", **{
        '"127.0.0.1:7100"': f'"127.0.0.1:{port}"'}), command="run")
    assert site.wait(60) == 0, site.output()
    assert "all 3 detections scored by the hub" in site.output()
    assert "site-a/2: wild boar, score" in hub.output()
