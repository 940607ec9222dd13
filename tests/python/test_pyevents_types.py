"""pyevents.types(): the app's named event types from EE_TYPES, or from an app
file; without either it says why."""

from __future__ import annotations

import pytest

import pyevents
from pyevents import ConfigError, TYPES_ENV, types


def test_reads_name_to_prefix_bytes():
    env = {TYPES_ENV: '{"Reading": "01a0", "TypeA": "5479706541", "Any": ""}'}
    assert types(env) == {"Reading": b"\x01\xa0", "TypeA": b"TypeA", "Any": b""}


def test_without_the_variable_it_says_why(monkeypatch):
    monkeypatch.delenv(TYPES_ENV, raising=False)
    with pytest.raises(ConfigError, match=r"EE_TYPES is not set: this process was "
                       r"not launched by `event-engine run`.*types\("):
        types()
    with pytest.raises(ConfigError, match="EE_TYPES is not set"):
        types({})
    assert types({TYPES_ENV: "  "}) == {}


def test_reads_the_types_of_an_app_file(tmp_path):
    app = tmp_path / "app.toml"
    app.write_text('[types]\nTypeA = "TypeA"\nReading = { hex = "01a0" }\n'
                   'Ack = [2, 0xb0]\nLatin = "\\u00ff"\n')
    assert types(app) == {"TypeA": b"TypeA", "Reading": b"\x01\xa0",
                          "Ack": b"\x02\xb0", "Latin": b"\xc3\xbf"}
    assert list(types(str(app))) == ["TypeA", "Reading", "Ack", "Latin"]
    with pytest.raises(ConfigError, match="cannot read the app file"):
        types(tmp_path / "missing.toml")
    (tmp_path / "bad.toml").write_text('[types]\nA = { hex = "zz" }\n')
    with pytest.raises(ConfigError, match=r"\[types\] A is not text"):
        types(tmp_path / "bad.toml")


def test_reads_the_process_environment(monkeypatch):
    monkeypatch.setenv("EE_TYPES", '{"Ack": "02B0"}')
    assert pyevents.types() == {"Ack": b"\x02\xb0"}


@pytest.mark.parametrize("text,message", [
    ("{", "not valid JSON"),
    ('["01"]', "must be a JSON object"),
    ('{"A": 1}', "must be a hex string"),
    ('{"A": "0g"}', "is not hexadecimal"),
])
def test_malformed_values_raise_config_error(text, message):
    with pytest.raises(ConfigError, match=message):
        types({TYPES_ENV: text})
