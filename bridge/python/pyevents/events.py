"""The original ``pyevents`` functions for writing event-engine plugins.

These four functions keep the names, arguments, defaults and wire behaviour
of the original ``pyevents/events.py`` of event-engine 0.2.0, so existing
plugins run unchanged against the C++ engine::

    import zmq
    from pyevents.events import (get_plugin_socket, get_next_msg,
                                 publish_msg, send_quit_command)

    context = zmq.Context()
    # pass the port configured for your plugin; pass host= if the engine is
    # not reachable under the name "engine" (the original's docker default)
    socket = get_plugin_socket(context, port)

    while True:
        msg_bytes = get_next_msg(socket)   # raw event bytes
        ...                                # do something with the event
        publish_msg(socket, some_bytes)    # publish an event
        if some_condition:
            break

    send_quit_command(socket)              # tell the engine we are done

Differences from the original; none changes the bytes sent or what callers
see in any sequence of calls that worked with the original:

* after a :func:`get_next_msg` timeout the *same* socket keeps working (the
  original raised "Operation cannot be accomplished in current state" on the
  next send):

  - the timed-out ``next_msg`` request stays outstanding, and the next
    :func:`get_next_msg` on that socket waits for *its* reply instead of
    sending the command again, so an event the engine sends after the timeout
    is not lost (this works with any REQ socket);
  - :func:`publish_msg` or :func:`send_quit_command` may be called in
    between: they first keep a reply that already arrived (returned by the
    next :func:`get_next_msg`), then abandon the request, setting
    ``ZMQ_REQ_RELAXED`` and ``ZMQ_REQ_CORRELATE`` on the socket at that
    moment, so a late reply to the abandoned request is discarded instead of
    being taken as the reply to the new one (until then requests carry no
    correlation frame, which keeps the usual exchanges as cheap as a plain
    REQ socket's). (An
    event the engine sends in the short moment between that check and the
    engine seeing the new request is still lost; the engine drops an
    abandoned ``next_msg`` as soon as a newer request from the same peer
    arrives, so this needs an event to arrive in exactly that window.)

  This bookkeeping is per socket and shared with :class:`pyevents.Plugin`;
  if you also send on the socket yourself, do so only when no
  :func:`get_next_msg` has just timed out on it;
* sockets made by :func:`get_plugin_socket` set a bounded ``ZMQ_LINGER`` (:data:`DEFAULT_LINGER_MS`), so closing a
  socket or terminating the context cannot hang when the engine is gone, yet
  a final quit command still gets flushed to a live engine, and a bounded
  ``ZMQ_CONNECT_TIMEOUT`` (:data:`CONNECT_TIMEOUT_MS`), so a restarted
  engine is reached within seconds;
* a socket that watches its connection (:class:`pyevents.Plugin`, or one
  with CURVE keys) sends an outstanding ``next_msg`` again on a fresh
  connection when the old one closed before the reply (the engine was
  stopped, killed or restarted), so the plugin goes on with the new engine;
* :func:`publish_msg` also accepts ``str`` (encoded as UTF-8);
* diagnostics go to the ``"pyevents"`` logger instead of ``print``;
* :func:`get_plugin_socket` takes keyword-only ``server_key`` and
  ``client_keys`` for an engine with CurveZMQ on (see
  :mod:`pyevents.security`); without them it reads ``EE_CURVE_SERVER_KEY``
  and ``EE_CURVE_CLIENT_KEY_FILE``, which the engine sets for the plugins it
  launches, so an unmodified plugin runs under CURVE too. With neither keys
  nor those variables the socket is exactly the original's. A socket with
  keys watches its handshakes: when the engine refuses it (or the keys do
  not match), :func:`get_next_msg` and :func:`publish_msg` raise
  :class:`pyevents.AuthenticationError` instead of waiting forever.

For a friendlier API (timeouts in seconds, typed exceptions, context manager,
iteration) see :class:`pyevents.Plugin`.
"""

from __future__ import annotations

import logging
import time
import weakref
from collections import deque
from typing import Deque, Optional, Union

import zmq

from .security import (
    ClientKeysLike,
    ConnectionLost,
    CurveKeys,
    HandshakeGuard,
    KeyLike,
    curve_keys,
)

__all__ = [
    "get_plugin_socket",
    "get_next_msg",
    "publish_msg",
    "send_quit_command",
    "NEXT_MSG_COMMAND",
    "QUIT_COMMAND",
    "PUBLISHED_REPLY",
    "BAD_MSG_REPLY_PREFIX",
    "DEFAULT_LINGER_MS",
    "CONNECT_TIMEOUT_MS",
]

# -- wire protocol (SPEC section 4; byte-exact) ------------------------------

#: Request asking the engine for the plugin's next event.
NEXT_MSG_COMMAND: bytes = b"plugin_command: next_msg"
#: Request telling the engine the plugin is finished; it gets no reply.
QUIT_COMMAND: bytes = b"plugin_command: quit"
#: The engine's reply to any other request (which it published as an event).
PUBLISHED_REPLY: bytes = b"event-engine: msg published"
#: :data:`PUBLISHED_REPLY` as the text :func:`publish_msg` returns.
_PUBLISHED_TEXT: str = PUBLISHED_REPLY.decode()

#: Start of the engine's reply to a request it could not accept.
BAD_MSG_REPLY_PREFIX: bytes = b"event-engine: bad msg"

#: LINGER (ms) of sockets made by :func:`get_plugin_socket`.
DEFAULT_LINGER_MS: int = 1000

#: ZMQ_CONNECT_TIMEOUT (ms) of sockets made by :func:`get_plugin_socket`: a
#: connection attempt made while the engine was away is given up and made
#: again after this long, instead of waiting for the kernel's SYN
#: retransmissions (which back off to minutes) once the engine is back.
CONNECT_TIMEOUT_MS: int = 2000

_log = logging.getLogger("pyevents")

Payload = Union[bytes, bytearray, memoryview, str]


# -- per-socket request state -------------------------------------------------


class _SocketState:
    """What a plugin socket is waiting for; shared by the functions below
    and :class:`pyevents.Plugin`. Guarded by the thread that owns the socket
    (ZeroMQ sockets must not be shared between threads anyway)."""

    __slots__ = ("awaiting_event", "stash", "relaxed", "guard", "sent_at")

    def __init__(self) -> None:
        #: A next_msg request was sent and its reply not yet received.
        self.awaiting_event: bool = False
        #: Events that arrived for an abandoned next_msg, returned first.
        self.stash: Deque[bytes] = deque()
        #: ZMQ_REQ_RELAXED and ZMQ_REQ_CORRELATE are set on the socket.
        self.relaxed: bool = False
        #: Watches the socket's handshakes (sockets with keys, and Plugin's).
        self.guard: Optional[HandshakeGuard] = None
        #: The guard's disconnect count when the next_msg request was sent.
        self.sent_at: int = 0


class _GuardedSocket:
    """Mixed into the class of a plugin socket whose handshakes are watched:
    closing it also closes the monitor socket (an open monitor would make
    ``Context.term()`` wait forever)."""

    def close(self, linger: Optional[int] = None) -> None:
        state = _states.get(self)  # type: ignore[call-overload]
        if state is not None and state.guard is not None:
            state.guard.close()
        super().close(linger)  # type: ignore[misc]


_guarded_classes: "dict[type, type]" = {}


def _guarded_class(cls: type) -> type:
    """``cls`` with :class:`_GuardedSocket` mixed in (one per class)."""
    if issubclass(cls, _GuardedSocket):
        return cls
    sub = _guarded_classes.get(cls)
    if sub is None:
        sub = type(cls.__name__, (_GuardedSocket, cls), {"__module__": cls.__module__})
        _guarded_classes[cls] = sub
    return sub


_states: "weakref.WeakKeyDictionary[zmq.Socket, _SocketState]" = (
    weakref.WeakKeyDictionary()
)


def _state(socket: zmq.Socket) -> _SocketState:
    state = _states.get(socket)
    if state is None:
        state = _SocketState()
        _states[socket] = state
    return state


def _recv(socket: zmq.Socket, flags: int = 0) -> bytes:
    """``socket.recv(flags)``; on a watched socket, a failed handshake raises
    :class:`pyevents.AuthenticationError` instead of waiting forever."""
    state = _states.get(socket)
    if state is None or state.guard is None:
        return socket.recv(flags)
    return state.guard.recv(socket, flags)


def _watch(socket: zmq.Socket, endpoint: str, keys: Optional[CurveKeys]) -> None:
    """Attaches a handshake guard to ``socket`` (before it connects)."""
    _state(socket).guard = HandshakeGuard(socket, endpoint, keys)
    # The same object, whose close() also closes the monitor.
    socket.__class__ = _guarded_class(type(socket))


def _connect_plugin_socket(
    context: zmq.Context,
    port: Union[int, str],
    host: str,
    keys: Optional[CurveKeys],
    watch: bool,
) -> zmq.Socket:
    """The REQ socket of :func:`get_plugin_socket`; with ``keys`` a CURVE
    client; with ``watch`` (or keys) its handshakes are watched."""
    socket = context.socket(zmq.REQ)
    try:
        socket.setsockopt(zmq.LINGER, DEFAULT_LINGER_MS)
        socket.setsockopt(zmq.CONNECT_TIMEOUT, CONNECT_TIMEOUT_MS)
        if ":" in str(host):  # an IPv6 address, e.g. "[::1]"
            socket.setsockopt(zmq.IPV6, 1)
        endpoint = f"tcp://{host}:{port}"
        if keys is not None:
            keys.apply(socket)
        if watch or keys is not None:
            _watch(socket, endpoint, keys)
        socket.connect(endpoint)
    except BaseException:
        socket.close(linger=0)
        raise
    _log.debug(
        "plugin socket connected to %s%s", endpoint, " (CURVE)" if keys else ""
    )
    return socket


def _receive_event(socket: zmq.Socket, flags: int = 0) -> bytes:
    """Return the next event: a stashed one, else the reply to the
    outstanding next_msg request, sending that request first if there is
    none. Raises :class:`zmq.error.Again` on timeout, leaving the request
    outstanding. On a watched socket, a request whose connection closed
    before the reply (the engine was stopped or restarted) is sent again,
    so the plugin goes on when the engine is back."""
    state = _states.get(socket)
    if state is None:
        # The usual case, as cheap as a plain REQ exchange: nothing stashed,
        # nothing outstanding, no guard (a watched socket has its state from
        # the start).
        socket.send(NEXT_MSG_COMMAND, flags)
        try:
            return socket.recv(flags)
        except BaseException:
            _state(socket).awaiting_event = True  # the request stays outstanding
            raise
    if state.stash:
        return state.stash.popleft()
    while True:
        if not state.awaiting_event:
            if state.guard is not None:
                state.guard.check()  # count the disconnects so far
                state.sent_at = state.guard.disconnects
            socket.send(NEXT_MSG_COMMAND, flags)
            state.awaiting_event = True
            _log.debug("next_msg requested")
        if state.guard is None:
            data: bytes = socket.recv(flags)
            break
        try:
            data = state.guard.recv(socket, flags, sent_at=state.sent_at)
            break
        except ConnectionLost:
            # A fresh connection (and name lookup) for the new request: the
            # old one may still hold what was queued for the lost engine.
            _log.info("connection to the engine lost: asking again")
            socket.disconnect(state.guard.endpoint)
            socket.connect(state.guard.endpoint)
            _relax(socket, state)
            state.awaiting_event = False
    state.awaiting_event = False
    return data


def _relax(socket: zmq.Socket, state: _SocketState) -> None:
    """Lets the REQ socket send again before a reply came, discarding the
    abandoned request's late reply (correlation ids). Set only when needed,
    so the usual exchanges carry no extra frame."""
    if not state.relaxed:
        socket.setsockopt(zmq.REQ_RELAXED, 1)
        socket.setsockopt(zmq.REQ_CORRELATE, 1)
        state.relaxed = True


def _keep_late_event(socket: zmq.Socket) -> None:
    """Before another request abandons an outstanding next_msg, keep its
    reply if it has already arrived."""
    state = _states.get(socket)
    if state is None or not state.awaiting_event:
        return
    try:
        state.stash.append(_recv(socket, zmq.NOBLOCK))
    except zmq.Again:
        _relax(socket, state)  # the request will be abandoned
        return
    state.awaiting_event = False
    _log.debug("kept an event that arrived after a next_msg timeout")


def _request_sent(socket: zmq.Socket) -> None:
    """A request other than next_msg was sent: any outstanding next_msg is
    abandoned (its late reply is discarded by ZMQ_REQ_CORRELATE)."""
    state = _states.get(socket)
    if state is not None and state.awaiting_event:
        state.awaiting_event = False
        _log.debug("abandoned an outstanding next_msg request")


def get_plugin_socket(
    context: zmq.Context,
    port: Union[int, str],
    host: str = "engine",
    *,
    server_key: Optional[KeyLike] = None,
    client_keys: Optional[ClientKeysLike] = None,
) -> zmq.Socket:
    """Create the REQ socket a plugin uses to talk to the engine.

    Args:
        context: the ZeroMQ context that owns the socket.
        port: the TCP port configured for this plugin on the engine.
        host: the engine's host name or address; the default ``"engine"`` is
            the original's docker-compose service name.
        server_key: for an engine with CURVE on: the engine's public key, as
            its certificate file (``server.key``) or 40 Z85 characters.
            Default: ``EE_CURVE_SERVER_KEY`` if set.
        client_keys: for an engine with CURVE on: this client's secret
            certificate file (``NAME.key_secret``) or a ``(public, secret)``
            pair. Default: ``EE_CURVE_CLIENT_KEY_FILE`` if set.

    Returns:
        A REQ socket connected to ``tcp://{host}:{port}`` with a bounded
        LINGER. (``ZMQ_REQ_RELAXED`` and ``ZMQ_REQ_CORRELATE`` are set
        on it when a request that timed out has to be abandoned.)
        Like every ZeroMQ socket, use it from one thread only. With keys it
        is a CURVE client whose failed handshakes raise
        :class:`pyevents.AuthenticationError` in :func:`get_next_msg` and
        :func:`publish_msg`; close it with ``socket.close()`` (which also
        closes its handshake monitor).

    Raises:
        pyevents.ConfigError: a key is missing (only one of the two given)
            or bad.
    """
    keys = curve_keys(server_key, client_keys)
    return _connect_plugin_socket(context, port, host, keys, watch=False)


def get_next_msg(socket: zmq.Socket, timeout: int = -1) -> bytes:
    """Get the next event for this plugin.

    Sends ``plugin_command: next_msg`` and blocks until the engine answers
    or until ``timeout`` milliseconds have passed (``-1``, the default, waits
    forever). On timeout raises :class:`zmq.error.Again` ("Resource
    temporarily unavailable"), as the original did; the request then stays
    outstanding and the next call waits for its reply rather than sending
    the command again, so no event is lost.

    The event is returned as raw bytes; converting them into the
    application's message format is up to the plugin.

    Note that ``timeout`` stays set on the socket (``RCVTIMEO``), so it also
    applies to a following :func:`publish_msg`, exactly as in the original.
    """
    socket.setsockopt(zmq.RCVTIMEO, timeout)
    data = _receive_event(socket)
    _log.debug("got event of %d bytes", len(data))
    return data


def publish_msg(socket: zmq.Socket, data: Payload) -> str:
    """Publish ``data`` (raw bytes; ``str`` is encoded as UTF-8) as an event.

    Waits for the engine's reply and returns it as a string, normally
    ``"event-engine: msg published"``. Any other reply is logged as a warning
    and returned (the original did not raise either).
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    state = _states.get(socket)
    if state is not None and state.awaiting_event:
        _keep_late_event(socket)
    while True:
        try:
            socket.send(data, zmq.NOBLOCK)
            if state is not None:
                _request_sent(socket)
            break
        except zmq.ZMQError as e:
            if e.errno == zmq.EAGAIN:
                time.sleep(0.1)
            else:
                _log.error("could not send a publish request: %s", e)
                raise
    if state is None or state.guard is None:
        raw: bytes = socket.recv()
    else:
        raw = state.guard.recv(socket, 0)
    if raw == PUBLISHED_REPLY:
        return _PUBLISHED_TEXT
    reply = raw.decode("utf-8")
    if _PUBLISHED_TEXT not in reply:
        _log.warning(
            "unexpected reply from event-engine to a publish request: %r", reply
        )
    return reply


def send_quit_command(socket: zmq.Socket) -> None:
    """Tell the engine that this plugin is about to terminate.

    Sends ``plugin_command: quit`` and does not wait for a reply (the engine
    sends none). Close the socket afterwards (its LINGER lets the command
    reach the engine).
    """
    _keep_late_event(socket)
    socket.send(QUIT_COMMAND)
    _request_sent(socket)
    _log.debug("quit command sent")
