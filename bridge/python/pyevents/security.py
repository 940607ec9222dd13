"""CurveZMQ keys for pyevents clients, and a clear error when a handshake fails.

An engine with ``[engine.security] curve = true`` encrypts every port and
admits only clients whose public key it allows. A client then needs:

* the engine's **public key** (``server_key``): its ``NAME.key`` certificate
  file, or the key itself as 40 Z85 characters;
* a **key pair of its own** (``client_keys``): its ``NAME.key_secret``
  certificate file, or a ``(public, secret)`` pair of Z85 keys (or of the
  ``NAME.key`` / ``NAME.key_secret`` files).

Certificate files are the ones ``event-engine keygen NAME`` writes (the
format of pyzmq's :func:`zmq.auth.create_certificates` and CZMQ's zcert).

A plugin the engine launches needs no key code: the engine sets
``EE_CURVE_SERVER_KEY`` (its public key) and, when the plugin's
``client_key_file`` is configured, ``EE_CURVE_CLIENT_KEY_FILE`` (the path of
the plugin's secret certificate). Every pyevents entry point reads them when
no key is passed::

    plugin = pyevents.Plugin()                       # launched: all from env
    plugin = pyevents.Plugin(6000, "engine-host",    # standalone
                             server_key="keys/server.key",
                             client_keys="keys/py1.key_secret")

ZeroMQ itself reports a failed handshake nowhere (the client just waits);
pyevents watches the socket's handshakes and raises
:class:`~pyevents.AuthenticationError` saying what to check.
"""

from __future__ import annotations

import itertools
import os
import struct
import time
from dataclasses import dataclass, field
from typing import List, Mapping, Optional, Sequence, Tuple, Union

import zmq
import zmq.utils.z85

from .errors import AuthenticationError, ConfigError

__all__ = [
    "SERVER_KEY_ENV",
    "CLIENT_KEY_FILE_ENV",
    "CurveKeys",
    "curve_keys",
    "load_server_key",
    "load_client_keys",
]

#: The engine's public key (Z85, or a certificate file), set for launched
#: plugins when the engine uses CURVE.
SERVER_KEY_ENV: str = "EE_CURVE_SERVER_KEY"
#: The path of this plugin's secret certificate (``NAME.key_secret``), set
#: for launched plugins whose ``client_key_file`` is configured.
CLIENT_KEY_FILE_ENV: str = "EE_CURVE_CLIENT_KEY_FILE"

KeyLike = Union[str, bytes, "os.PathLike[str]"]
ClientKeysLike = Union[KeyLike, Tuple[KeyLike, KeyLike], Sequence[KeyLike]]

_Z85 = set(
    b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#"
)
_KEYGEN_HINT = "write a key pair with `event-engine keygen NAME`"


@dataclass(frozen=True)
class CurveKeys:
    """The keys of one CURVE client (all Z85, 40 bytes each)."""

    #: The engine's public key.
    server_key: bytes
    #: This client's public key (the one the engine's allow-list must hold).
    public_key: bytes
    #: This client's secret key.
    secret_key: bytes = field(repr=False)

    def apply(self, socket: zmq.Socket) -> None:
        """Make ``socket`` a CURVE client with these keys (before connecting)."""
        socket.setsockopt(zmq.CURVE_SERVERKEY, self.server_key)
        socket.setsockopt(zmq.CURVE_PUBLICKEY, self.public_key)
        socket.setsockopt(zmq.CURVE_SECRETKEY, self.secret_key)

    @classmethod
    def from_env(cls, environ: Optional[Mapping[str, str]] = None) -> Optional["CurveKeys"]:
        """The keys in ``EE_CURVE_SERVER_KEY`` and ``EE_CURVE_CLIENT_KEY_FILE``
        (``None`` if neither is set). Raises :class:`ConfigError` if only one
        is set or a key is bad."""
        return curve_keys(None, None, environ)


def _is_z85_key(data: bytes) -> bool:
    return len(data) == 40 and all(c in _Z85 for c in data)


def _load_file(path: str, what: str) -> Tuple[bytes, Optional[bytes]]:
    """(public, secret or None) of a certificate file, with errors that say
    what to fix."""
    import zmq.auth  # imported lazily: only key users pay for it

    if not os.path.exists(path):
        raise ConfigError(f"{what}: key file {path!r} does not exist; {_KEYGEN_HINT}")
    if os.path.isdir(path):
        raise ConfigError(f"{what}: {path!r} is a folder, not a certificate file")
    try:
        public, secret = zmq.auth.load_certificate(path)
    except OSError as e:
        raise ConfigError(f"{what}: cannot read key file {path!r}: {e}") from None
    except ValueError:
        raise ConfigError(
            f"{what}: {path!r} has no public-key line: it is not a ZeroMQ "
            f"certificate; {_KEYGEN_HINT}"
        ) from None
    if not _is_z85_key(public):
        raise ConfigError(
            f"{what}: the public-key in {path!r} is not a 40-character Z85 key"
        )
    if secret is not None and not _is_z85_key(secret):
        raise ConfigError(
            f"{what}: the secret-key in {path!r} is not a 40-character Z85 key"
        )
    return public, secret


def _key_or_file(value: KeyLike, what: str) -> Tuple[bytes, Optional[bytes]]:
    """A Z85 key (str/bytes of 40 characters, or 32 raw bytes) or the path
    of a certificate file -> (public or the key, secret or None)."""
    if isinstance(value, (bytes, bytearray)):
        data = bytes(value)
        if _is_z85_key(data):
            return data, None
        if len(data) == 32:
            return zmq.utils.z85.encode(data), None
        path = os.fsdecode(data)
    elif isinstance(value, str):
        if _is_z85_key(value.encode("ascii", "replace")) and not os.path.exists(value):
            return value.encode("ascii"), None
        path = value
    elif isinstance(value, os.PathLike):
        path = os.fspath(value)
    else:
        raise ConfigError(
            f"{what} must be a Z85 key (40 characters) or the path of a "
            f"certificate file, not {type(value).__name__}"
        )
    if not os.path.exists(path) and len(path) == 40:
        raise ConfigError(
            f"{what}={path!r} is neither a Z85 key (40 characters of the Z85 "
            "alphabet) nor a certificate file that exists"
        )
    return _load_file(path, what)


def load_server_key(value: KeyLike) -> bytes:
    """The engine's public key (Z85 bytes) from a Z85 key or a certificate
    file (``server.key``; a ``.key_secret`` file works too)."""
    public, _ = _key_or_file(value, "server_key")
    return public


def load_client_keys(value: ClientKeysLike) -> Tuple[bytes, bytes]:
    """This client's (public, secret) pair (Z85 bytes) from its secret
    certificate file (``NAME.key_secret``) or a ``(public, secret)`` pair of
    Z85 keys or certificate files. The secret key must belong to the public
    key."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ConfigError(
                "client_keys must be one NAME.key_secret file or a (public, "
                f"secret) pair, not {len(value)} items"
            )
        public, _ = _key_or_file(value[0], "client_keys[0] (public)")
        pub2, secret = _key_or_file(value[1], "client_keys[1] (secret)")
        if secret is None:  # a bare Z85 secret key
            secret = pub2
    else:
        public, secret = _key_or_file(value, "client_keys")
        if secret is None:
            raise ConfigError(
                f"client_keys {value!r} holds no secret key: give this "
                "client's NAME.key_secret (not NAME.key), or a (public, "
                "secret) pair"
            )
    try:
        derived = zmq.curve_public(secret)
    except zmq.ZMQError as e:
        raise ConfigError(f"client_keys: the secret key is not valid: {e}") from None
    if derived != public:
        raise ConfigError(
            "client_keys: the secret key does not belong to the public key; "
            f"{_KEYGEN_HINT}"
        )
    return public, secret


def curve_keys(
    server_key: Optional[KeyLike] = None,
    client_keys: Optional[ClientKeysLike] = None,
    environ: Optional[Mapping[str, str]] = None,
) -> Optional[CurveKeys]:
    """The CURVE keys of a client, or ``None`` for a plain-text client.

    A key that is not given comes from the environment
    (``EE_CURVE_SERVER_KEY``, ``EE_CURVE_CLIENT_KEY_FILE``, as the engine
    sets them for the plugins it launches). Without any key, the client is
    a plain-text one, as before CURVE.

    Raises:
        ConfigError: one of the two is missing, or a key or file is bad.
    """
    env = os.environ if environ is None else environ
    server_source, client_source = "server_key", "client_keys"
    if server_key is None and env.get(SERVER_KEY_ENV):
        server_key, server_source = env[SERVER_KEY_ENV], SERVER_KEY_ENV
    if client_keys is None and env.get(CLIENT_KEY_FILE_ENV):
        client_keys, client_source = env[CLIENT_KEY_FILE_ENV], CLIENT_KEY_FILE_ENV
    if server_key is None and client_keys is None:
        return None
    if server_key is None:
        raise ConfigError(
            f"{client_source} is given but not the engine's public key: pass "
            f"server_key= (the engine's NAME.key or its Z85 key) or set "
            f"{SERVER_KEY_ENV}"
        )
    if client_keys is None:
        raise ConfigError(
            f"{server_source} is given (the engine uses CURVE) but this client "
            f"has no key pair: pass client_keys= (its NAME.key_secret) or set "
            f"{CLIENT_KEY_FILE_ENV}; for a launched plugin, configure its "
            f"client_key_file in the engine's TOML file ({_KEYGEN_HINT})"
        )
    try:
        server = load_server_key(server_key)
    except ConfigError as e:
        if server_source == SERVER_KEY_ENV:
            raise ConfigError(f"{SERVER_KEY_ENV}: {e}") from None
        raise
    try:
        public, secret = load_client_keys(client_keys)
    except ConfigError as e:
        if client_source == CLIENT_KEY_FILE_ENV:
            raise ConfigError(f"{CLIENT_KEY_FILE_ENV}: {e}") from None
        raise
    return CurveKeys(server, public, secret)


# -- watching handshakes -------------------------------------------------------

#: How many handshakes in a row may fail without detail before the server
#: key is blamed (the engine drops a client whose server key is wrong).
_FAILURES_BEFORE_ERROR = 3

_HANDSHAKE_EVENTS = (
    zmq.EVENT_HANDSHAKE_SUCCEEDED
    | zmq.EVENT_HANDSHAKE_FAILED_AUTH
    | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
    | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL
    | zmq.EVENT_DISCONNECTED
)


class ConnectionLost(Exception):
    """Raised by :meth:`HandshakeGuard.recv` when the connection a request
    went out on closed before its reply came: the reply never will (the
    engine stopped or was restarted); the caller asks again."""

_monitor_ids = itertools.count()


class HandshakeGuard:
    """Watches the handshakes of one client socket (through its socket
    monitor) so that a refused or failing client raises
    :class:`AuthenticationError` instead of waiting forever.

    Attach before connecting. Used by the thread that owns the socket.
    """

    def __init__(self, socket: zmq.Socket, endpoint: str, keys: Optional[CurveKeys]) -> None:
        self.endpoint = endpoint
        self.keys = keys
        addr = f"inproc://pyevents-monitor-{os.getpid()}-{next(_monitor_ids)}"
        socket.monitor(addr, _HANDSHAKE_EVENTS)
        self.monitor: zmq.Socket = socket.context.socket(zmq.PAIR)
        self.monitor.setsockopt(zmq.LINGER, 0)
        self.monitor.connect(addr)
        self.succeeded = False
        self.failures = 0
        #: Connections that closed so far (the engine stopped, restarted or
        #: hung up).
        self.disconnects = 0
        self.error: Optional[AuthenticationError] = None

    def close(self) -> None:
        if not self.monitor.closed:
            self.monitor.close(linger=0)

    # -- events --

    def check(self) -> None:
        """Reads the handshake events so far; raises the error of a
        handshake that failed for good (until one succeeds again)."""
        while True:
            try:
                frames: List[bytes] = self.monitor.recv_multipart(zmq.NOBLOCK)
            except zmq.ZMQError:  # none left (EAGAIN), or the monitor is closed
                break
            if not frames or len(frames[0]) < 6:
                continue
            event, value = struct.unpack("=Hi", frames[0][:6])
            self._on_event(event, value)
        if self.error is not None:
            raise self.error

    def _on_event(self, event: int, value: int) -> None:
        if event == zmq.EVENT_DISCONNECTED:
            self.disconnects += 1
        elif event == zmq.EVENT_HANDSHAKE_SUCCEEDED:
            self.succeeded = True
            self.failures = 0
            self.error = None
        elif event == zmq.EVENT_HANDSHAKE_FAILED_AUTH:
            self.error = self._refused(value)
        elif (
            event == zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
            and value == zmq.PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH
        ):
            self.error = self._mismatch()
        elif event in (
            zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL,
            zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL,
        ):
            self.failures += 1
            if self.failures >= _FAILURES_BEFORE_ERROR:
                self.error = self._failing(False)

    # -- errors --

    def _refused(self, status: int) -> AuthenticationError:
        who = (
            f"its public key {self.keys.public_key.decode()}"
            if self.keys is not None
            else "it"
        )
        return AuthenticationError(
            f"the engine at {self.endpoint} refused this client (CURVE, ZAP "
            f"status {status}): {who} is not allowed on this port; add the "
            "client's NAME.key to the engine's allowed_clients_dir, or to the "
            "plugin's allowed_keys if the plugin has a list of its own",
            self.endpoint,
            "refused",
        )

    def _mismatch(self) -> AuthenticationError:
        if self.keys is not None:
            text = (
                f"the engine at {self.endpoint} does not use CURVE, but this "
                "client has keys: connect without server_key/client_keys (and "
                f"unset {SERVER_KEY_ENV} and {CLIENT_KEY_FILE_ENV}), or turn "
                "CURVE on in the engine ([engine.security] curve = true)"
            )
        else:
            text = (
                f"the engine at {self.endpoint} requires CURVE: pass "
                "server_key= (the engine's public key: its NAME.key file or "
                "Z85 text) and client_keys= (this client's NAME.key_secret), "
                f"or set {SERVER_KEY_ENV} and {CLIENT_KEY_FILE_ENV}"
            )
        return AuthenticationError(text, self.endpoint, "mismatch")

    def _failing(self, timed_out: bool) -> AuthenticationError:
        when = " before the timeout" if timed_out else ""
        if self.keys is None:
            # (The engine may hang up on a plain-text client before the
            # client sees that the engine wants CURVE.)
            return AuthenticationError(
                f"the handshake with the engine at {self.endpoint} failed "
                f"{self.failures} time{'s' if self.failures != 1 else ''}{when} "
                "(the engine closed the connection): most likely the engine "
                "requires CURVE: pass server_key= and client_keys=, or set "
                f"{SERVER_KEY_ENV} and {CLIENT_KEY_FILE_ENV}",
                self.endpoint,
                "handshake",
            )
        return AuthenticationError(
            f"the CURVE handshake with the engine at {self.endpoint} failed "
            f"{self.failures} time{'s' if self.failures != 1 else ''}{when} "
            "(the engine closed the connection): most likely server_key is "
            "not the engine's public key (compare it with the engine's "
            "NAME.key; the engine logs 'the engine's public key is ...' at "
            "start), or the engine does not use CURVE ([engine.security] "
            "curve = true)",
            self.endpoint,
            "handshake",
        )

    # -- receiving --

    def recv(self, socket: zmq.Socket, flags: int = 0,
             sent_at: Optional[int] = None) -> bytes:
        """``socket.recv(flags)`` that honours RCVTIMEO (raising
        :class:`zmq.Again`) but raises :class:`AuthenticationError` as soon as
        the handshake failed for good, or at the timeout after failed
        handshakes. With ``sent_at`` (:attr:`disconnects` when the request
        was sent) it raises :class:`ConnectionLost` once a connection closed
        since then without the reply."""
        if self.error is not None:
            self.check()  # raises, unless a handshake succeeded since
        if flags & zmq.NOBLOCK:
            if self.monitor.getsockopt(zmq.EVENTS) & zmq.POLLIN:
                self.check()
            return socket.recv(flags)
        timeout_ms = socket.getsockopt(zmq.RCVTIMEO)
        deadline = None if timeout_ms < 0 else time.monotonic() + timeout_ms / 1000.0
        wait_ms = timeout_ms
        while True:
            # One poll per wait: the reply, or news about the handshake.
            ready = dict(
                zmq.zmq_poll([(socket, zmq.POLLIN), (self.monitor, zmq.POLLIN)], wait_ms)
            )
            if ready.get(self.monitor):
                self.check()
            if ready.get(socket):
                try:
                    return socket.recv(zmq.NOBLOCK)
                except zmq.Again:
                    pass  # a stale reply that REQ_CORRELATE discarded
            if sent_at is not None and self.disconnects > sent_at:
                raise ConnectionLost()
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    if self.failures:
                        self.error = self._failing(True)
                        raise self.error
                    raise zmq.Again(zmq.EAGAIN)
                wait_ms = max(1, int(left * 1000))
