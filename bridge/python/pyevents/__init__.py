"""pyevents — write external event-engine plugins in Python.

Two APIs over the same wire protocol:

* the original functions, unchanged for existing plugins:
  :func:`get_plugin_socket`, :func:`get_next_msg`, :func:`publish_msg`,
  :func:`send_quit_command` (also importable from :mod:`pyevents.events`);
* :class:`Plugin` (alias :class:`Client`): a context manager with
  ``next_msg(timeout)``, ``publish(data)``, ``quit()``, iteration and typed
  exceptions (:class:`Timeout`, :class:`PublishError`, ...);
* :func:`types`: the app's named event types (``EE_TYPES``), name -> prefix;
* CurveZMQ: ``server_key=`` / ``client_keys=`` on :class:`Plugin` and
  :func:`get_plugin_socket` (or ``EE_CURVE_SERVER_KEY`` /
  ``EE_CURVE_CLIENT_KEY_FILE``, set by the engine for launched plugins),
  :func:`curve_keys` to load them, and :class:`AuthenticationError` when the
  engine refuses a handshake (see :mod:`pyevents.security`).

The package logs to the ``"pyevents"`` logger and never prints.
"""

from __future__ import annotations

import logging
from pathlib import Path

from .client import DEFAULT_HOST, HOST_ENV, PORT_ENV, Client, Plugin
from . import errors as _errors
from .errors import (
    AuthenticationError,
    ClosedError,
    ConfigError,
    EventEngineError,
    PublishError,
    Timeout,
)
from .event_types import TYPES_ENV, types
from .events import (
    BAD_MSG_REPLY_PREFIX,
    DEFAULT_LINGER_MS,
    NEXT_MSG_COMMAND,
    PUBLISHED_REPLY,
    QUIT_COMMAND,
    get_next_msg,
    get_plugin_socket,
    publish_msg,
    send_quit_command,
)
from .security import (
    CLIENT_KEY_FILE_ENV,
    SERVER_KEY_ENV,
    CurveKeys,
    curve_keys,
    load_client_keys,
    load_server_key,
)

def _version() -> str:
    """The version in pyproject.toml: the one number of the project."""
    source = Path(__file__).resolve().parent.parent / "pyproject.toml"
    try:  # a source tree (bridge/python on sys.path)
        lines = source.read_text(encoding="utf-8").splitlines()
        if 'name = "pyevents"' in lines:
            for line in lines:
                if line.startswith("version = "):
                    return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    try:  # an installed package
        from importlib.metadata import version

        return version("pyevents")
    except Exception:  # noqa: BLE001 - metadata missing or broken
        return "unknown"


__version__: str = _version()

__all__ = [
    # original functions
    "get_plugin_socket",
    "get_next_msg",
    "publish_msg",
    "send_quit_command",
    # client class
    "Plugin",
    "Client",
    # event types
    "types",
    "TYPES_ENV",
    # errors: every name of pyevents.errors (added below)
    # CurveZMQ keys
    "CurveKeys",
    "curve_keys",
    "load_server_key",
    "load_client_keys",
    "SERVER_KEY_ENV",
    "CLIENT_KEY_FILE_ENV",
    # protocol constants and settings
    "NEXT_MSG_COMMAND",
    "QUIT_COMMAND",
    "PUBLISHED_REPLY",
    "BAD_MSG_REPLY_PREFIX",
    "DEFAULT_LINGER_MS",
    "PORT_ENV",
    "HOST_ENV",
    "DEFAULT_HOST",
    "__version__",
]
__all__ += _errors.__all__

logging.getLogger("pyevents").addHandler(logging.NullHandler())
