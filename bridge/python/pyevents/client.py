"""A context-manager client for external event-engine plugins.

Example::

    from pyevents import Plugin, Timeout

    with Plugin(6000) as plugin:          # or Plugin() with EE_PLUGIN_PORT set
        for event in plugin:              # blocks for each next event
            if event.startswith(b"TypeA"):
                plugin.publish(b"TypeB" + str(len(event)).encode())
            if done:
                break
    # leaving the block sends the quit command and closes the socket

The wire protocol is exactly the one of :mod:`pyevents.events`; a
:class:`Plugin` is a thin, typed layer over the same REQ socket.
"""

from __future__ import annotations

import logging
import os
from types import TracebackType
from typing import Iterator, Optional, Type, Union

import zmq

from .errors import ClosedError, ConfigError, EventEngineError, PublishError, Timeout
from .events import (
    DEFAULT_LINGER_MS,
    NEXT_MSG_COMMAND,
    PUBLISHED_REPLY,
    QUIT_COMMAND,
    Payload,
    _connect_plugin_socket,
    _keep_late_event,
    _receive_event,
    _recv,
    _request_sent,
    _states,
)
from .security import ClientKeysLike, CurveKeys, KeyLike, curve_keys

__all__ = [
    "Plugin",
    "Client",
    "PORT_ENV",
    "HOST_ENV",
    "DEFAULT_HOST",
]

#: Environment variable read when no port is given.
PORT_ENV: str = "EE_PLUGIN_PORT"
#: Environment variable read when no host is given.
HOST_ENV: str = "EE_PLUGIN_HOST"
#: Host used when neither the ``host`` argument nor ``EE_PLUGIN_HOST`` is set.
DEFAULT_HOST: str = "127.0.0.1"

#: How long (s) :meth:`Plugin.quit` may wait to hand the command to ZeroMQ.
_QUIT_SEND_TIMEOUT_S: float = 1.0

_log = logging.getLogger("pyevents")


def _resolve_port(port: Union[int, str, None]) -> int:
    source = "port"
    if port is None:
        port = os.environ.get(PORT_ENV)
        source = PORT_ENV
        if port is None or str(port).strip() == "":
            raise ConfigError(
                f"no plugin port given: pass Plugin(port=...) or set {PORT_ENV} "
                "to the TCP port registered for this plugin on the engine"
            )
    if isinstance(port, bool):
        raise ConfigError(f"{source}={port!r} is not a TCP port number (1-65535)")
    try:
        value = int(str(port).strip()) if isinstance(port, str) else int(port)
    except (TypeError, ValueError):
        raise ConfigError(
            f"{source}={port!r} is not a TCP port number (1-65535); "
            "use the port registered for this plugin on the engine"
        ) from None
    if not 1 <= value <= 65535:
        raise ConfigError(
            f"{source}={port!r} is out of range; a TCP port is 1-65535"
        )
    return value


def _resolve_host(host: Optional[str]) -> str:
    source = "host"
    if host is None:
        host = os.environ.get(HOST_ENV) or DEFAULT_HOST
        source = HOST_ENV
    if not isinstance(host, str) or host.strip() == "":
        raise ConfigError(
            f"{source}={host!r} is not a host name or address; "
            f"pass e.g. host={DEFAULT_HOST!r}"
        )
    return host.strip()


def _timeout_ms(timeout: Optional[float], what: str) -> int:
    """Convert a timeout in seconds (``None`` = forever) to ZeroMQ ms."""
    if timeout is None:
        return -1
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise ConfigError(
            f"{what} timeout={timeout!r} must be a number of seconds or None"
        )
    if timeout < 0:
        raise ConfigError(
            f"{what} timeout={timeout!r} is negative; use None to wait forever"
        )
    ms = int(round(timeout * 1000))
    if ms == 0 and timeout > 0:
        ms = 1
    return ms


def _as_bytes(data: Payload) -> bytes:
    if isinstance(data, str):
        return data.encode("utf-8")
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    raise TypeError(
        f"an event must be bytes, bytearray, memoryview or str, "
        f"not {type(data).__name__}"
    )


class Plugin:
    """One external plugin's connection to the engine.

    Args:
        port: the TCP port registered for this plugin on the engine; defaults
            to the environment variable ``EE_PLUGIN_PORT``.
        host: the engine's host; defaults to ``EE_PLUGIN_HOST``, else
            ``"127.0.0.1"``.
        context: the ZeroMQ context to use; by default the plugin creates and
            later terminates its own.
        name: a name used in log messages (defaults to ``"plugin@host:port"``).
        linger_ms: LINGER of the socket on close, in milliseconds.
        server_key: for an engine with CurveZMQ on: the engine's public key,
            as its certificate file (``server.key``) or 40 Z85 characters;
            defaults to ``EE_CURVE_SERVER_KEY``.
        client_keys: this client's key pair: its secret certificate file
            (``NAME.key_secret``) or a ``(public, secret)`` pair of Z85 keys
            or certificate files; defaults to ``EE_CURVE_CLIENT_KEY_FILE``.
            A plugin the engine launches gets both variables, so it needs
            no key code.

    Raises:
        ConfigError: on a missing or invalid port or host, or a missing or
            bad key (see :mod:`pyevents.security`).

    A plugin watches its connection's handshakes: if the engine refuses it
    (its key is not allowed, it lacks keys the engine requires, or its
    server key is wrong), :meth:`next_msg` and :meth:`publish` raise
    :class:`AuthenticationError` with what to check, instead of waiting.

    A ``Plugin`` owns one ZeroMQ socket: use it from one thread only.

    Timeouts never lose events on the client side: a ``next_msg`` request
    that timed out stays outstanding, and the next :meth:`next_msg` call keeps
    waiting for its reply instead of asking again. :meth:`publish` and
    :meth:`quit` abandon an outstanding ``next_msg`` (a reply that already
    arrived is kept for the next :meth:`next_msg`); the engine then drops
    the abandoned request when it sees the new one.

    A plugin outlives its engine: when the connection a ``next_msg`` request
    went out on closes before the reply (the engine was stopped, killed or
    restarted), the request is sent again, and ZeroMQ delivers it when the
    engine is back (events the old engine still held are lost with it).
    """

    def __init__(
        self,
        port: Union[int, str, None] = None,
        host: Optional[str] = None,
        context: Optional[zmq.Context] = None,
        name: Optional[str] = None,
        *,
        linger_ms: int = DEFAULT_LINGER_MS,
        server_key: Optional[KeyLike] = None,
        client_keys: Optional[ClientKeysLike] = None,
    ) -> None:
        self._port: int = _resolve_port(port)
        self._host: str = _resolve_host(host)
        self._keys: Optional[CurveKeys] = curve_keys(server_key, client_keys)
        self._name: str = name if name else f"plugin@{self._host}:{self._port}"
        self._linger_ms: int = linger_ms
        self._owns_context: bool = context is None
        self._context: zmq.Context = zmq.Context() if context is None else context
        self._closed: bool = False
        self._quit_sent: bool = False
        try:
            self._socket: zmq.Socket = _connect_plugin_socket(
                self._context, self._port, self._host, self._keys, watch=True
            )
            self._socket.setsockopt(zmq.LINGER, linger_ms)
        except zmq.ZMQError as e:
            if self._owns_context:
                self._context.term()
            raise ConfigError(
                f"cannot connect {self._name} to {self.endpoint}: {e}"
            ) from e
        _log.debug("%s: connected to %s", self._name, self.endpoint)

    # -- properties ------------------------------------------------------------

    @property
    def name(self) -> str:
        """The name used in log messages."""
        return self._name

    @property
    def host(self) -> str:
        """The engine's host."""
        return self._host

    @property
    def port(self) -> int:
        """The plugin's TCP port on the engine."""
        return self._port

    @property
    def endpoint(self) -> str:
        """The ZeroMQ endpoint, ``tcp://host:port``."""
        return f"tcp://{self._host}:{self._port}"

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    @property
    def quit_sent(self) -> bool:
        """Whether the quit command was sent."""
        return self._quit_sent

    @property
    def curve(self) -> bool:
        """Whether the connection uses CurveZMQ (keys given or from the
        environment)."""
        return self._keys is not None

    @property
    def public_key(self) -> Optional[bytes]:
        """This client's public key (Z85), the one the engine must allow;
        ``None`` without CURVE."""
        return self._keys.public_key if self._keys is not None else None

    @property
    def socket(self) -> zmq.Socket:
        """The underlying REQ socket, for use with :mod:`pyevents.events`."""
        return self._socket

    def __repr__(self) -> str:
        state = "closed" if self._closed else ("quit" if self._quit_sent else "open")
        return f"<Plugin {self._name!r} {self.endpoint} {state}>"

    # -- protocol --------------------------------------------------------------

    def next_msg(self, timeout: Optional[float] = None) -> bytes:
        """Wait for this plugin's next event and return its bytes unchanged.

        Args:
            timeout: seconds to wait; ``None`` (the default) waits forever.

        Raises:
            Timeout: no event within ``timeout``; the plugin stays usable and
                the next call keeps waiting for the same event.
            AuthenticationError: the engine refused the connection's
                handshake (see the message for what to check).
            ClosedError: after :meth:`quit` or :meth:`close`.
        """
        self._check_usable("next_msg")
        ms = _timeout_ms(timeout, "next_msg")
        self._socket.setsockopt(zmq.RCVTIMEO, ms)
        self._socket.SNDTIMEO = ms
        try:
            reply = _receive_event(self._socket)
        except zmq.Again as e:
            _log.debug("%s: no event within %s s", self._name, timeout)
            raise Timeout("next_msg", timeout) from e
        _log.debug("%s: got event of %d bytes", self._name, len(reply))
        return reply

    def publish(self, data: Payload, timeout: Optional[float] = None) -> None:
        """Publish ``data`` as an event (``str`` is encoded as UTF-8).

        Args:
            data: the event's bytes; its first bytes are the event type filter.
            timeout: seconds to wait for the engine's acknowledgement; ``None``
                (the default) waits forever.

        Raises:
            PublishError: the engine replied anything other than
                ``event-engine: msg published`` (``.reply`` holds the reply),
                or ``data`` is one of the reserved command strings.
            Timeout: no acknowledgement within ``timeout`` (the event may or
                may not have been published).
            AuthenticationError: the engine refused the connection's
                handshake (nothing was published).
            ClosedError: after :meth:`quit` or :meth:`close`.
        """
        payload = _as_bytes(data)
        self._check_usable("publish")
        if payload in (NEXT_MSG_COMMAND, QUIT_COMMAND):
            raise PublishError(
                f"cannot publish {payload!r}: the engine reads these exact bytes "
                "as a plugin command, not as an event"
            )
        reply = self._request(payload, timeout, "publish")
        if reply != PUBLISHED_REPLY:
            raise PublishError(
                f"event-engine did not publish the event "
                f"({len(payload)} bytes); it replied {reply!r}",
                reply,
            )
        _log.debug("%s: published %d bytes", self._name, len(payload))

    def quit(self) -> None:
        """Tell the engine this plugin is finished. Sent at most once.

        Afterwards :meth:`next_msg` and :meth:`publish` raise
        :class:`ClosedError`; call :meth:`close` (or leave the ``with``
        block) to release the socket.

        Raises:
            Timeout: ZeroMQ could not queue the command within 1 s.
            ClosedError: after :meth:`close` without a prior quit.
        """
        if self._quit_sent:
            return
        if self._closed:
            raise ClosedError(f"{self._name}: cannot quit, the plugin is closed")
        if self._refused():
            # The engine never admitted this client: nothing to tell it.
            self._quit_sent = True
            return
        self._socket.SNDTIMEO = _timeout_ms(_QUIT_SEND_TIMEOUT_S, "quit")
        _keep_late_event(self._socket)
        try:
            self._socket.send(QUIT_COMMAND)
        except zmq.Again as e:
            raise Timeout("quit", _QUIT_SEND_TIMEOUT_S) from e
        _request_sent(self._socket)
        self._quit_sent = True
        _log.debug("%s: quit command sent", self._name)

    def close(self) -> None:
        """Close the socket (and the context if the plugin created it).

        Does not send quit; use :meth:`quit` or the ``with`` statement for
        that. Idempotent.
        """
        if self._closed:
            return
        self._closed = True
        # Requests to an engine that refused this client can never leave.
        self._socket.close(linger=0 if self._refused() else self._linger_ms)
        if self._owns_context:
            self._context.term()
        _log.debug("%s: closed", self._name)

    # -- iteration -------------------------------------------------------------

    def events(self, idle_timeout: Optional[float] = None) -> Iterator[bytes]:
        """Yield events as they arrive.

        Args:
            idle_timeout: stop (return) when no event arrives within this many
                seconds; ``None`` (the default) yields forever.
        """
        while True:
            try:
                event = self.next_msg(idle_timeout)
            except Timeout:
                _log.debug(
                    "%s: no event within %s s; ending iteration",
                    self._name,
                    idle_timeout,
                )
                return
            yield event

    def __iter__(self) -> Iterator[bytes]:
        """Yield events forever (until interrupted, e.g. KeyboardInterrupt)."""
        return self.events(None)

    # -- context manager -------------------------------------------------------

    def __enter__(self) -> "Plugin":
        self._check_usable("enter")
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        try:
            if not self._closed and not self._quit_sent:
                try:
                    self.quit()
                except (zmq.ZMQError, EventEngineError) as e:
                    if exc_type is None:
                        raise
                    _log.warning(
                        "%s: could not send quit while handling %s: %s",
                        self._name,
                        exc_type.__name__,
                        e,
                    )
        finally:
            self.close()

    # -- internals -------------------------------------------------------------

    def _refused(self) -> bool:
        """Whether the engine refused the handshake for good."""
        state = _states.get(self._socket)
        return bool(state and state.guard and state.guard.error is not None)

    def _check_usable(self, operation: str) -> None:
        if self._closed:
            raise ClosedError(f"{self._name}: cannot {operation}, the plugin is closed")
        if self._quit_sent:
            raise ClosedError(
                f"{self._name}: cannot {operation} after quit; "
                "the engine no longer serves this plugin"
            )

    def _request(self, request: bytes, timeout: Optional[float], what: str) -> bytes:
        ms = _timeout_ms(timeout, what)
        _keep_late_event(self._socket)
        self._socket.setsockopt(zmq.RCVTIMEO, ms)
        self._socket.SNDTIMEO = ms
        try:
            self._socket.send(request)
            _request_sent(self._socket)
            reply: bytes = _recv(self._socket)
        except zmq.Again as e:
            _log.debug("%s: %s timed out after %s s", self._name, what, timeout)
            raise Timeout(what, timeout) from e
        return reply


#: Alias of :class:`Plugin`.
Client = Plugin
