"""An external plugin for the soak test: reads its events, answers some of
them, and misbehaves now and then — it reconnects (a fresh socket, the old
one closed without confirming its last event), or it crashes (os._exit, the
engine restarts it). Runs until the engine stops it (SIGTERM).

Environment: EE_PLUGIN_PORT / EE_PLUGIN_HOST (set by the engine),
SOAK_REPLY (a prefix: answer each event with it, or empty), SOAK_CRASH and
SOAK_RECONNECT (probabilities per event), SOAK_SEED, SOAK_CALM (a file: once
it exists, no more misbehaving — the soak is winding down).
"""

import os
import random
import signal
import sys

from pyevents import Plugin, Timeout

reply = os.environ.get("SOAK_REPLY", "").encode()
crash = float(os.environ.get("SOAK_CRASH", "0"))
reconnect = float(os.environ.get("SOAK_RECONNECT", "0"))
rng = random.Random(int(os.environ.get("SOAK_SEED", "0")) ^ os.getpid())
calm = os.environ.get("SOAK_CALM", "")

signal.signal(signal.SIGTERM, lambda *_: os._exit(0))


def serve() -> None:
    while True:
        plugin = Plugin()
        try:
            while True:
                try:
                    ev = plugin.next_msg(timeout=1.0)
                except Timeout:
                    continue
                r = rng.random()
                wild = r < crash + reconnect and not (calm and os.path.exists(calm))
                if wild and r < crash:
                    os._exit(3)
                if reply:
                    plugin.publish(reply + ev[2:18], timeout=30.0)
                if wild:
                    break  # a fresh socket; the last event comes back
        finally:
            plugin.close()


if __name__ == "__main__":
    try:
        serve()
    except KeyboardInterrupt:
        sys.exit(0)
