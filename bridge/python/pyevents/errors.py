"""Typed exceptions raised by the :class:`pyevents.Plugin` client.

Every exception derives from :class:`EventEngineError`, so ``except
pyevents.EventEngineError`` catches everything this package raises on purpose.
:class:`Timeout` also derives from :class:`zmq.error.Again`, the exception the
original ``get_next_msg`` raised on timeout, so existing ``except
zmq.error.Again`` handlers keep working.
"""

from __future__ import annotations

from typing import Optional

import zmq

__all__ = [
    "EventEngineError",
    "ConfigError",
    "Timeout",
    "PublishError",
    "ClosedError",
    "AuthenticationError",
]


class EventEngineError(Exception):
    """Base class of every error raised by the ``pyevents`` client."""


class ConfigError(EventEngineError, ValueError):
    """A bad client setting: missing or invalid port, empty host, bad timeout.

    The message names the setting (argument or environment variable) and the fix.
    """


class Timeout(EventEngineError, zmq.error.Again):
    """The engine did not answer within the requested time.

    The client stays usable. A timed-out ``next_msg`` stays outstanding: the
    next :meth:`~pyevents.Plugin.next_msg` call keeps waiting for the same
    reply, so no event is lost; any other request abandons it (the socket uses
    ``ZMQ_REQ_RELAXED`` and ``ZMQ_REQ_CORRELATE``).

    Attributes:
        operation: what was waiting (``"next_msg"``, ``"publish"``, ``"quit"``).
        timeout: the timeout in seconds that expired.
    """

    def __init__(self, operation: str, timeout: Optional[float]) -> None:
        self.operation: str = operation
        self.timeout: Optional[float] = timeout
        message = (
            f"event-engine did not answer {operation} within {timeout} s; "
            "the request was abandoned and the client can be used again"
        )
        zmq.error.Again.__init__(self)  # pyzmq's Again ignores a message
        self.errno = zmq.EAGAIN
        self.strerror = message
        self.args = (message,)

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (type(self), (self.operation, self.timeout))


class PublishError(EventEngineError):
    """The engine did not accept a published event.

    Raised when the reply to a publish request is not exactly
    ``b"event-engine: msg published"`` (for example ``b"event-engine: bad
    msg ..."``), or when the payload could not be published at all because it
    is one of the reserved command strings.

    Attributes:
        reply: the engine's reply bytes, or ``None`` if nothing was sent.
    """

    def __init__(self, message: str, reply: Optional[bytes] = None) -> None:
        super().__init__(message)
        self.reply: Optional[bytes] = reply

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (type(self), (str(self), self.reply))


class ClosedError(EventEngineError):
    """The client was used after :meth:`~pyevents.Plugin.close` or after
    :meth:`~pyevents.Plugin.quit` (the engine no longer serves a plugin that
    quit)."""


class AuthenticationError(EventEngineError):
    """A CURVE handshake with the engine failed for good, so no request can
    reach it: the engine refused this client's key, one side uses CURVE and
    the other does not, or the server key is wrong (the engine keeps
    closing the connection). ZeroMQ reports none of this to the caller; the
    message says what to check.

    Attributes:
        endpoint: the engine's endpoint, ``tcp://host:port``.
        reason: ``"refused"`` (key not allowed), ``"mismatch"`` (CURVE on
            one side only) or ``"handshake"`` (repeated failures: most likely
            a wrong server key).
    """

    def __init__(self, message: str, endpoint: str = "", reason: str = "") -> None:
        super().__init__(message)
        self.endpoint: str = endpoint
        self.reason: str = reason

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (type(self), (str(self), self.endpoint, self.reason))
