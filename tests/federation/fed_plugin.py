"""The Python plugin of the federation tests, launched by an engine (so it
runs in the engine's network namespace). ``FED_ROLE`` says what it does:

* ``publish``: publishes ``Fed.ORIGIN:SEQ`` for SEQ = 1..``FED_COUNT``
  (ORIGIN = ``FED_ORIGIN``), pausing ``FED_PACE_S`` seconds after each
  (default 0: as fast as the engine takes them). It reads the number it may have published
  so far from the file ``FED_CONTROL``: while that is 0 (or the file is
  missing) it publishes a probe ``Fed?ORIGIN:K`` every 50 ms instead, so
  that the test can see when the subscriptions crossed the links. It
  writes how many it published to ``FED_PROGRESS``. Then it stays
  (an engine whose plugins all ended would stop).
* ``record``: appends every event it gets, one per line, to ``FED_OUT``.
"""

import os
import sys
import time

import pyevents


def read_limit(path: str) -> int:
    try:
        with open(path) as f:
            return int(f.read().strip() or "0")
    except (OSError, ValueError):
        return 0


def write_atomically(path: str, text: str) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def publish(plugin: pyevents.Plugin) -> None:
    origin = os.environ["FED_ORIGIN"]
    count = int(os.environ["FED_COUNT"])
    control = os.environ["FED_CONTROL"]
    progress = os.environ["FED_PROGRESS"]
    pace = float(os.environ.get("FED_PACE_S", "0"))
    sent = probes = 0
    while sent < count:
        limit = min(read_limit(control), count)
        if limit == 0:
            probes += 1
            plugin.publish(b"Fed?%s:%d" % (origin.encode(), probes))
            time.sleep(0.05)
            continue
        if sent == limit:
            time.sleep(0.01)
            continue
        while sent < limit:
            sent += 1
            plugin.publish(b"Fed.%s:%d" % (origin.encode(), sent))
            if sent % 50 == 0 or sent == limit:
                write_atomically(progress, str(sent))
            if pace:
                time.sleep(pace)
    while True:  # stay: the engine runs as long as a plugin does
        try:
            plugin.next_msg(timeout=3600)
        except pyevents.Timeout:
            pass


def record(plugin: pyevents.Plugin) -> None:
    with open(os.environ["FED_OUT"], "ab", buffering=0) as out:
        while True:
            try:
                out.write(plugin.next_msg(timeout=3600) + b"\n")
            except pyevents.Timeout:
                pass


def main() -> int:
    role = os.environ["FED_ROLE"]
    with pyevents.Plugin() as plugin:
        {"publish": publish, "record": record}[role](plugin)
    return 0


if __name__ == "__main__":
    sys.exit(main())
