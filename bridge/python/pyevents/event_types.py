"""The app's named event types, handed to launched plugins by the engine.

``event-engine run`` gives every plugin it launches the environment variable
``EE_TYPES``: the ``[types]`` table of the app's TOML file as a JSON object
mapping each type's name to its prefix in hexadecimal, e.g.
``{"Reading": "01a0", "Ack": "02b0"}``. A plugin then needs no copy of the
prefixes::

    import pyevents

    types = pyevents.types()             # {"Reading": b"\\x01\\xa0", ...}
    plugin.publish(types["Reading"] + payload)
"""

from __future__ import annotations

import json
import os
from typing import Dict, Mapping, Optional

from .errors import ConfigError

__all__ = ["TYPES_ENV", "types"]

#: The environment variable that carries the app's event types.
TYPES_ENV: str = "EE_TYPES"


def types(environ: Optional[Mapping[str, str]] = None) -> Dict[str, bytes]:
    """Return the app's event types: name -> prefix bytes.

    Args:
        environ: where to read ``EE_TYPES`` (default: ``os.environ``).

    Returns:
        An empty dict when ``EE_TYPES`` is not set (the plugin was not
        launched by an engine whose app file has ``[types]``).

    Raises:
        ConfigError: ``EE_TYPES`` is not a JSON object of hex strings.
    """
    env = os.environ if environ is None else environ
    text = env.get(TYPES_ENV)
    if text is None or text.strip() == "":
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
