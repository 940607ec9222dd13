"""Answers every `Reading` with an `Ack` carrying the reading's sequence
number as 4 big-endian bytes; stops at `Shutdown`."""

import json
import sys

import pyevents


def main() -> int:
    types = pyevents.types()
    reading, ack = types["Reading"], types["Ack"]
    with pyevents.Plugin() as plugin:
        for event in plugin:
            if event.startswith(types["Shutdown"]):
                print("shutting down", flush=True)
                break
            if not event.startswith(reading):
                continue
            try:
                data = json.loads(event[len(reading):])
                seq = int(data["seq"])
            except (ValueError, KeyError, TypeError):
                print(f"not a reading: {event[len(reading):]!r}", flush=True)
                continue
            print(f"reading {seq}: {data.get('celsius')} C", flush=True)
            plugin.publish(ack + seq.to_bytes(4, "big"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
