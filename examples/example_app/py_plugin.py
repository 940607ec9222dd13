#!/usr/bin/env python3
"""PyPlugin: the external Python plugin of the original example application.

Written against the ORIGINAL pyevents functions (get_plugin_socket,
get_next_msg, publish_msg, send_quit_command) to show that unmodified plugins
work with the C++ engine. It reads 10 events (TypeA and TypeB), sleeps 0.3 s,
publishes ``TypeCGoodbye from python``, sends quit and exits 0.

Usage::

    py_plugin.py [--host HOST] [--port PORT] [--timeout MS]

Host and port default to the environment variables EE_PLUGIN_HOST
(else 127.0.0.1) and EE_PLUGIN_PORT (else 6000). ``--timeout`` bounds each
wait for an event in milliseconds (default -1: wait forever). Exit codes:
0 success, 1 timeout or unexpected reply, 2 bad arguments.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import List, Optional

try:
    import pyevents  # noqa: F401  (installed package)
except ImportError:
    # Not installed: use the source tree, <repo>/bridge/python.
    _SOURCE_TREE = Path(__file__).resolve().parents[2] / "bridge" / "python"
    sys.path.insert(0, str(_SOURCE_TREE))
    try:
        import pyevents  # noqa: F401
    except ImportError as e:
        sys.exit(
            f"py_plugin: cannot import pyevents ({e}). Install it with "
            f"'{sys.executable} -m pip install {_SOURCE_TREE}', and make sure "
            "this interpreter has pyzmq (Debian: /usr/bin/python3)."
        )

import zmq
from pyevents.events import (
    get_next_msg,
    get_plugin_socket,
    publish_msg,
    send_quit_command,
)

NUM_EVENTS = 10
GOODBYE = b"TypeCGoodbye from python"


def parse_args(argv: Optional[List[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="External Python plugin of the event-engine example app."
    )
    parser.add_argument(
        "--host",
        default=os.environ.get("EE_PLUGIN_HOST") or "127.0.0.1",
        help="engine host (default: $EE_PLUGIN_HOST or 127.0.0.1)",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=None,
        help="this plugin's TCP port on the engine "
        "(default: $EE_PLUGIN_PORT or 6000)",
    )
    parser.add_argument(
        "--timeout",
        type=int,
        default=-1,
        help="milliseconds to wait for each event; -1 waits forever (default)",
    )
    args = parser.parse_args(argv)
    if args.port is None:
        env_port = os.environ.get("EE_PLUGIN_PORT") or "6000"
        try:
            args.port = int(env_port)
        except ValueError:
            parser.error(f"EE_PLUGIN_PORT={env_port!r} is not a port number")
    if not 1 <= args.port <= 65535:
        parser.error(f"port {args.port} is out of range (1-65535)")
    if args.timeout < -1:
        parser.error("--timeout must be -1 (forever) or a number of milliseconds")
    return args


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    context = zmq.Context()
    socket = get_plugin_socket(context, args.port, host=args.host)
    print(f"py_plugin: connected to tcp://{args.host}:{args.port}", flush=True)
    try:
        for n in range(1, NUM_EVENTS + 1):
            print(f"py_plugin: waiting on message {n}", flush=True)
            try:
                msg_bytes = get_next_msg(socket, args.timeout)
            except zmq.error.Again:
                print(
                    f"py_plugin: ERROR: no event {n} of {NUM_EVENTS} from the "
                    f"engine at tcp://{args.host}:{args.port} within "
                    f"{args.timeout} ms",
                    file=sys.stderr,
                    flush=True,
                )
                socket.close(linger=0)
                return 1
            print(f"py_plugin: got message {n}; contents: {msg_bytes!r}", flush=True)

        # Sleep so that all TypeB events are received by the producer before
        # our TypeC event (as in the original example).
        time.sleep(0.3)
        try:
            reply = publish_msg(socket, GOODBYE)
        except zmq.error.Again:
            print(
                "py_plugin: ERROR: no reply from the engine to the publish "
                f"request within {args.timeout} ms",
                file=sys.stderr,
                flush=True,
            )
            socket.close(linger=0)
            return 1
        if "event-engine: msg published" not in reply:
            print(
                f"py_plugin: ERROR: unexpected reply to publish: {reply!r}",
                file=sys.stderr,
                flush=True,
            )
            socket.close(linger=0)
            return 1
        print(f"py_plugin: published {GOODBYE!r}; reply: {reply!r}", flush=True)

        print("py_plugin: sending quit command...", flush=True)
        send_quit_command(socket)
        socket.close()  # LINGER (bounded) lets the quit command reach the engine
        print("py_plugin: quit command sent; exiting.", flush=True)
        return 0
    finally:
        if not socket.closed:
            socket.close(linger=0)
        context.term()


if __name__ == "__main__":
    sys.exit(main())
