"""The app's named event types, handed to launched plugins by the engine.

``event-engine run`` gives every plugin it launches the environment variable
``EE_TYPES``: the ``[types]`` table of the app's TOML file as a JSON object
mapping each type's name to its prefix in hexadecimal, e.g.
``{"Reading": "01a0", "Ack": "02b0"}``. A plugin then needs no copy of the
prefixes::

    import pyevents

    types = pyevents.types()             # {"Reading": b"\\x01\\xa0", ...}
    plugin.publish(types["Reading"] + payload)

Outside the engine (a plugin started by hand, a script, a test) there is no
``EE_TYPES``: ``types()`` then raises :class:`ConfigError` saying so, and
``types("app.toml")`` reads the ``[types]`` of the app file instead.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Union

from .errors import ConfigError

__all__ = ["TYPES_ENV", "types"]

#: The environment variable that carries the app's event types.
TYPES_ENV: str = "EE_TYPES"


def types(source: Union[None, str, "os.PathLike[str]", Mapping[str, str]] = None
          ) -> Dict[str, bytes]:
    """Return the app's event types: name -> prefix bytes.

    Args:
        source: ``None`` reads ``EE_TYPES`` from ``os.environ``; a mapping
            reads ``EE_TYPES`` from it; a path reads the ``[types]`` table of
            that app's TOML file (text is UTF-8, ``{ hex = "01a0" }`` and
            ``[1, 160]`` are bytes, as the engine reads them).

    Returns:
        The types, in the file's order (empty if the app has no ``[types]``).

    Raises:
        ConfigError: ``EE_TYPES`` is not set (the process was not launched
            by ``event-engine run``: pass the app file instead), is not a
            JSON object of hex strings, or the app file cannot be read.
    """
    if isinstance(source, (str, os.PathLike)):
        return _from_file(Path(source))
    env = os.environ if source is None else source
    text = env.get(TYPES_ENV)
    if text is None:
        raise ConfigError(
            f"{TYPES_ENV} is not set: this process was not launched by "
            "`event-engine run` (which sets it for every plugin it launches); "
            "read the types from the app file instead: "
            "pyevents.types(\"app.toml\")")
    if text.strip() == "":
        return {}
    try:
        raw = json.loads(text)
    except ValueError as e:
        raise ConfigError(f"{TYPES_ENV} is not valid JSON: {e}") from None
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{TYPES_ENV} must be a JSON object of name -> hex prefix, "
            f"not {type(raw).__name__}"
        )
    result: Dict[str, bytes] = {}
    for name, hex_prefix in raw.items():
        if not isinstance(hex_prefix, str):
            raise ConfigError(
                f"{TYPES_ENV}: the prefix of {name!r} must be a hex string, "
                f"not {hex_prefix!r}"
            )
        try:
            result[name] = bytes.fromhex(hex_prefix)
        except ValueError:
            raise ConfigError(
                f"{TYPES_ENV}: the prefix of {name!r} is not hexadecimal: "
                f"{hex_prefix!r}"
            ) from None
    return result


def _from_file(path: Path) -> Dict[str, bytes]:
    try:
        import tomllib  # Python 3.11+
    except ImportError:  # pragma: no cover - older Pythons
        raise ConfigError("reading an app file needs Python 3.11 (tomllib); "
                          f"or run the plugin under the engine ({TYPES_ENV})"
                          ) from None
    try:
        with open(path, "rb") as f:
            app = tomllib.load(f)
    except OSError as e:
        raise ConfigError(f"cannot read the app file {str(path)!r}: "
                          f"{e.strerror}") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML: {e}; "
                          f"`event-engine check {path}` says more") from None
    table = app.get("types", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: 'types' must be a table")
    return {name: _prefix(path, name, value) for name, value in table.items()}


def _prefix(path: Path, name: str, value: Any) -> bytes:
    try:
        if isinstance(value, str):
            return value.encode("utf-8")
        if isinstance(value, dict) and set(value) == {"hex"}:
            return bytes.fromhex(value["hex"])
        if isinstance(value, list):
            return bytes(value)
    except (TypeError, ValueError):
        pass
    raise ConfigError(f"{path}: [types] {name} is not text, {{ hex = \"...\" }} "
                      f"or an array of bytes; `event-engine check {path}` says "
                      "more")
