"""`event-engine check --types` prints the resolved types (issue 14.9), and a
text prefix with non-ASCII characters is a warning that shows the hex forms."""

from __future__ import annotations

from pathlib import Path

from conftest import run_cli


def test_check_types_prints_each_name_with_its_prefix(tmp_path: Path):
    app = tmp_path / "app.toml"
    app.write_text('[types]\nTypeA = "TypeA"\nReading = { hex = "01a0" }\n'
                   'Latin = "\\u00ff"\n[[plugin]]\nname = "p"\nport = 0\n'
                   '[engine]\npublish_port = 0\nsubscribe_port = 0\n')
    r = run_cli("check", "--types", str(app))
    assert r.returncode == 0, r.stderr
    lines = [line.strip() for line in r.stdout.splitlines()]
    assert 'TypeA: hex 5479706541, text "TypeA"' in lines, r.stdout
    assert "Reading: hex 01a0" in lines, r.stdout
    assert 'Latin: hex c3bf, text "\u00ff"' in lines, r.stdout
    assert ('app.toml:4:9: warning: [types] Latin is text with non-ASCII '
            'characters') in r.stderr, r.stderr
    assert '{ hex = "ff" } for one byte per character' in r.stderr
