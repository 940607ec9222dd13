"""Publishes SENSOR_READINGS readings (default 3) as JSON after the binary
`Reading` prefix, waits until the monitor acknowledged each one, then
publishes `Shutdown`. With SENSOR_READINGS=0 it sends nothing and quits."""

import json
import os
import sys

import pyevents


def main() -> int:
    types = pyevents.types()
    count = int(os.environ.get("SENSOR_READINGS", "3"))
    with pyevents.Plugin() as plugin:
        for seq in range(count):
            reading = {"seq": seq, "celsius": 20.0 + seq / 2}
            plugin.publish(types["Reading"] + json.dumps(reading).encode())
            print(f"sent reading {seq}", flush=True)
        acked = set()
        while len(acked) < count:
            event = plugin.next_msg(timeout=30)
            if event.startswith(types["Ack"]):
                seq = int.from_bytes(event[len(types["Ack"]):], "big")
                acked.add(seq)
                print(f"reading {seq} acknowledged", flush=True)
        if count:
            plugin.publish(types["Shutdown"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
