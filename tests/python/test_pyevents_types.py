"""pyevents.types(): the app's named event types from EE_TYPES."""

from __future__ import annotations

import pytest

import pyevents
from pyevents import ConfigError, TYPES_ENV, types


def test_reads_name_to_prefix_bytes():
    env = {TYPES_ENV: '{"Reading": "01a0", "TypeA": "5479706541", "Any": ""}'}
    assert types(env) == {"Reading": b"\x01\xa0", "TypeA": b"TypeA", "Any": b""}


def test_empty_without_the_variable(monkeypatch):
    monkeypatch.delenv(TYPES_ENV, raising=False)
    assert types() == {}
    assert types({TYPES_ENV: "  "}) == {}


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
