"""Unit tests of pyevents' CurveZMQ support against a fake CURVE engine (no
C++ needed): loading keys from Z85 text, certificate files and the
environment; clear errors for missing or bad keys; and a typed
:class:`pyevents.AuthenticationError` instead of a silent hang when the
engine refuses the handshake.

The fake engine is a ROUTER with CURVE on and its own ZAP handler (a ROUTER
on ``inproc://zeromq.zap.01`` in the same thread) that admits a set of
public keys; it answers ``next_msg`` with ``Ev`` and publishes with
``event-engine: msg published``.

Run with Debian's interpreter (it has pyzmq)::

    /usr/bin/python3 -m pytest -q tests/python/test_pyevents_security.py
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from typing import Iterator, Optional, Set, Tuple

import pytest
import zmq
import zmq.auth

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bridge" / "python"))

import pyevents  # noqa: E402
from pyevents import (  # noqa: E402
    AuthenticationError,
    ConfigError,
    Plugin,
    Timeout,
    curve_keys,
    load_client_keys,
    load_server_key,
)
from pyevents.events import (  # noqa: E402
    get_next_msg,
    get_plugin_socket,
    publish_msg,
    send_quit_command,
)

NEXT = b"plugin_command: next_msg"
PUBLISHED = b"event-engine: msg published"
WAIT_S = 5.0


class FakeCurveEngine:
    """A plugin port with CURVE (or without: ``curve=False``) in a thread;
    its ZAP handler admits ``allowed`` public keys (Z85)."""

    def __init__(self, secret: Optional[bytes], allowed: Set[bytes]) -> None:
        self.allowed = set(allowed)
        self.ctx = zmq.Context()
        self.zap = self.ctx.socket(zmq.ROUTER)
        self.zap.linger = 0
        self.zap.bind("inproc://zeromq.zap.01")
        self.router = self.ctx.socket(zmq.ROUTER)
        self.router.linger = 0
        if secret is not None:
            self.router.curve_server = True
            self.router.curve_secretkey = secret
            self.router.zap_domain = b"test"
        self.port = self.router.bind_to_random_port("tcp://127.0.0.1")
        self.zap_answers = 0
        self.requests = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        poller = zmq.Poller()
        poller.register(self.router, zmq.POLLIN)
        poller.register(self.zap, zmq.POLLIN)
        while not self._stop.is_set():
            for s, _ in poller.poll(10):
                frames = s.recv_multipart()
                split = frames.index(b"") + 1
                env, body = frames[:split], frames[split:]
                if s is self.zap:
                    key = zmq.utils.z85.encode(body[6]) if len(body) > 6 else b""
                    ok = key in self.allowed
                    s.send_multipart(env + [b"1.0", body[1], b"200" if ok else b"400",
                                            b"OK" if ok else b"no", b"", b""])
                    self.zap_answers += 1
                else:
                    self.requests += 1
                    reply = b"Ev" if body == [NEXT] else PUBLISHED
                    if body != [b"plugin_command: quit"]:
                        s.send_multipart(env + [reply])

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(WAIT_S)
        self.router.close(0)
        self.zap.close(0)
        self.ctx.term()


@pytest.fixture(autouse=True)
def no_key_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(pyevents.SERVER_KEY_ENV, raising=False)
    monkeypatch.delenv(pyevents.CLIENT_KEY_FILE_ENV, raising=False)


@pytest.fixture
def keys(tmp_path: Path) -> dict:
    """Certificate files: the engine's pair and two clients'."""
    result = {}
    for name in ("server", "ok", "other"):
        pub, sec = zmq.auth.create_certificates(str(tmp_path), name)
        result[name] = (Path(pub), Path(sec))
    return result


def z85(path: Path) -> Tuple[bytes, Optional[bytes]]:
    return zmq.auth.load_certificate(str(path))


@pytest.fixture
def curve_engine(keys: dict) -> Iterator[FakeCurveEngine]:
    _, server_secret = z85(keys["server"][1])
    ok_public, _ = z85(keys["ok"][0])
    e = FakeCurveEngine(server_secret, {ok_public})
    yield e
    e.stop()


@pytest.fixture
def plain_engine() -> Iterator[FakeCurveEngine]:
    e = FakeCurveEngine(None, set())
    yield e
    e.stop()


@pytest.fixture
def ctx() -> Iterator[zmq.Context]:
    context = zmq.Context()
    yield context
    context.destroy(linger=0)


# -- loading keys ------------------------------------------------------------------


def test_keys_load_from_files_z85_text_pairs_and_the_environment(keys: dict) -> None:
    server_pub, _ = z85(keys["server"][0])
    ok_pub, ok_sec = z85(keys["ok"][1])
    assert load_server_key(keys["server"][0]) == server_pub
    assert load_server_key(str(keys["server"][1])) == server_pub  # secret file too
    assert load_server_key(server_pub.decode()) == server_pub
    assert load_server_key(server_pub) == server_pub
    assert load_server_key(zmq.utils.z85.decode(server_pub)) == server_pub  # raw
    assert load_client_keys(keys["ok"][1]) == (ok_pub, ok_sec)
    assert load_client_keys((ok_pub, ok_sec)) == (ok_pub, ok_sec)
    assert load_client_keys((keys["ok"][0], keys["ok"][1])) == (ok_pub, ok_sec)
    assert curve_keys() is None  # no keys, no environment: plain text
    env = {
        pyevents.SERVER_KEY_ENV: server_pub.decode(),
        pyevents.CLIENT_KEY_FILE_ENV: str(keys["ok"][1]),
    }
    k = curve_keys(environ=env)
    assert k is not None
    assert (k.server_key, k.public_key, k.secret_key) == (server_pub, ok_pub, ok_sec)
    assert ok_sec.decode() not in repr(k)  # no secret in the repr
    # An argument wins over the environment.
    other_pub, _ = z85(keys["other"][0])
    k2 = curve_keys(client_keys=keys["other"][1], environ=env)
    assert k2 is not None and k2.public_key == other_pub


def test_missing_or_bad_keys_are_config_errors_that_say_what_to_do(
    keys: dict, tmp_path: Path
) -> None:
    server = keys["server"][0]
    with pytest.raises(ConfigError, match="no key pair.*client_keys=.*client_key_file"):
        curve_keys(server_key=server)
    with pytest.raises(ConfigError, match="not the engine's public key: pass server_key="):
        curve_keys(client_keys=keys["ok"][1])
    with pytest.raises(ConfigError, match="EE_CURVE_CLIENT_KEY_FILE"):
        curve_keys(environ={pyevents.SERVER_KEY_ENV: str(server)})
    with pytest.raises(ConfigError, match="does not exist.*event-engine keygen"):
        curve_keys(server_key=tmp_path / "nope.key", client_keys=keys["ok"][1])
    with pytest.raises(ConfigError, match="holds no secret key.*NAME.key_secret"):
        curve_keys(server_key=server, client_keys=keys["ok"][0])
    ok_pub, _ = z85(keys["ok"][0])
    _, other_sec = z85(keys["other"][1])
    with pytest.raises(ConfigError, match="does not belong to the public key"):
        curve_keys(server_key=server, client_keys=(ok_pub, other_sec))
    bogus = tmp_path / "bogus.key"
    bogus.write_text("just text\n")
    with pytest.raises(ConfigError, match="not a ZeroMQ certificate"):
        load_server_key(bogus)
    with pytest.raises(ConfigError, match="neither a Z85 key"):
        load_server_key("x" * 39 + "~")
    with pytest.raises(ConfigError, match="EE_CURVE_SERVER_KEY: "):
        curve_keys(environ={pyevents.SERVER_KEY_ENV: "short",
                            pyevents.CLIENT_KEY_FILE_ENV: str(keys["ok"][1])})
    with pytest.raises(ConfigError):
        Plugin(6000, "127.0.0.1", server_key=server)


# -- the original functions stay the original -------------------------------------


def test_without_keys_the_original_socket_is_unchanged(
    ctx: zmq.Context, plain_engine: FakeCurveEngine
) -> None:
    s = get_plugin_socket(ctx, plain_engine.port, "127.0.0.1")
    assert type(s) is zmq.Socket  # no handshake monitor, no subclass
    assert s.getsockopt(zmq.MECHANISM) == zmq.NULL
    assert s.getsockopt(zmq.LINGER) == pyevents.DEFAULT_LINGER_MS
    assert publish_msg(s, b"TypeAx") == PUBLISHED.decode()
    assert get_next_msg(s, 2000) == b"Ev"
    send_quit_command(s)
    s.close()


def test_keyword_keys_make_a_curve_socket_and_closing_it_frees_the_context(
    keys: dict, curve_engine: FakeCurveEngine
) -> None:
    context = zmq.Context()
    s = get_plugin_socket(context, curve_engine.port, "127.0.0.1",
                          server_key=keys["server"][0], client_keys=keys["ok"][1])
    assert isinstance(s, zmq.Socket)
    assert s.getsockopt(zmq.MECHANISM) == zmq.CURVE
    assert publish_msg(s, b"TypeAx") == PUBLISHED.decode()
    assert get_next_msg(s, 2000) == b"Ev"
    s.close()
    # The handshake monitor closed with the socket: term() returns.
    done = threading.Event()
    threading.Thread(target=lambda: (context.term(), done.set()), daemon=True).start()
    assert done.wait(WAIT_S), "Context.term() hung: a monitor socket was left open"


def test_the_engine_sets_keys_for_launched_plugins_in_the_environment(
    keys: dict, curve_engine: FakeCurveEngine, ctx: zmq.Context,
    monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(pyevents.SERVER_KEY_ENV, z85(keys["server"][0])[0].decode())
    monkeypatch.setenv(pyevents.CLIENT_KEY_FILE_ENV, str(keys["ok"][1]))
    s = get_plugin_socket(ctx, curve_engine.port, "127.0.0.1")  # unmodified call
    assert get_next_msg(s, 2000) == b"Ev"
    with Plugin(curve_engine.port, "127.0.0.1") as p:
        assert p.curve and p.public_key == z85(keys["ok"][0])[0]
        p.publish(b"TypeAy", timeout=WAIT_S)


# -- refused handshakes: a clear error, never a silent hang ------------------------


def test_a_key_not_on_the_list_is_an_authentication_error(
    keys: dict, curve_engine: FakeCurveEngine
) -> None:
    start = time.monotonic()
    with Plugin(curve_engine.port, "127.0.0.1", server_key=keys["server"][0],
                client_keys=keys["other"][1]) as p:
        with pytest.raises(AuthenticationError) as info:
            p.next_msg()  # no timeout: must not hang
        # Sticky: the next call says the same at once.
        with pytest.raises(AuthenticationError):
            p.publish(b"TypeAz")
    assert time.monotonic() - start < WAIT_S
    err = info.value
    assert err.reason == "refused"
    assert z85(keys["other"][0])[0].decode() in str(err)
    assert "allowed_clients_dir" in str(err)
    assert curve_engine.requests == 0


def test_a_client_without_keys_on_a_curve_port_is_told_to_use_keys(
    curve_engine: FakeCurveEngine
) -> None:
    with Plugin(curve_engine.port, "127.0.0.1") as p:
        assert not p.curve
        with pytest.raises(AuthenticationError, match="requires CURVE: pass server_key=") as info:
            p.publish(b"TypeAx", timeout=WAIT_S)
    # "handshake" when the engine hung up before the client saw its greeting.
    assert info.value.reason in ("mismatch", "handshake")


def test_keys_against_an_engine_without_curve_are_an_authentication_error(
    keys: dict, plain_engine: FakeCurveEngine
) -> None:
    with Plugin(plain_engine.port, "127.0.0.1", server_key=keys["server"][0],
                client_keys=keys["ok"][1]) as p:
        with pytest.raises(AuthenticationError, match="does not use CURVE"):
            p.next_msg(timeout=WAIT_S)


def test_a_wrong_server_key_fails_clearly_in_bounded_time(
    keys: dict, curve_engine: FakeCurveEngine, ctx: zmq.Context
) -> None:
    # (e) The engine drops a client that encrypted for another key.
    start = time.monotonic()
    with Plugin(curve_engine.port, "127.0.0.1", server_key=keys["other"][0],
                client_keys=keys["ok"][1]) as p:
        with pytest.raises(AuthenticationError, match="server_key is not the "
                                                      "engine's public key") as info:
            p.next_msg()
    assert info.value.reason == "handshake"
    assert time.monotonic() - start < 3 * WAIT_S
    # The original function on a keyed socket: the same error, not a hang.
    s = get_plugin_socket(ctx, curve_engine.port, "127.0.0.1",
                          server_key=keys["other"][0], client_keys=keys["ok"][1])
    with pytest.raises(AuthenticationError):
        get_next_msg(s, int(3 * WAIT_S * 1000))
    s.close(linger=0)


def test_a_timeout_without_any_handshake_is_still_a_timeout(
    keys: dict, ctx: zmq.Context
) -> None:
    # Nobody listens: no handshake happens, so it is an ordinary timeout.
    with socket_port() as port:
        pass
    with Plugin(port, "127.0.0.1", server_key=keys["server"][0],
                client_keys=keys["ok"][1], linger_ms=0) as p:
        with pytest.raises(Timeout):
            p.next_msg(timeout=0.2)
    s = get_plugin_socket(ctx, port, "127.0.0.1", server_key=keys["server"][0],
                          client_keys=keys["ok"][1])
    with pytest.raises(zmq.Again):
        get_next_msg(s, 200)
    s.close(linger=0)


class socket_port:
    """A TCP port that was free a moment ago."""

    def __enter__(self) -> int:
        import socket

        self._s = socket.socket()
        self._s.bind(("127.0.0.1", 0))
        return self._s.getsockname()[1]

    def __exit__(self, *exc: object) -> None:
        self._s.close()
