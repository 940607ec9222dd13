"""A camera trap at a field site: reports DETECTIONS detections (default 3)
as `Detection SITE/N ANIMAL`, prints the hub's score of each, and ends once
every one was scored (the hub's scorer is on another engine: the events
cross the federation link both ways)."""

import os
import sys

import pyevents

ANIMALS = ["lynx", "red deer", "wild boar", "wolf", "badger"]


def main() -> int:
    count = int(os.environ.get("DETECTIONS", "3"))
    site = os.environ.get("SITE", "site-a")
    with pyevents.Plugin() as plugin:
        for n in range(count):
            animal = ANIMALS[n % len(ANIMALS)]
            plugin.publish(f"Detection {site}/{n} {animal}".encode())
        scored = set()
        while len(scored) < count:
            event = plugin.next_msg(timeout=120).decode()
            _, key, score = event.split(" ", 2)  # Score SITE/N VALUE
            if key.startswith(site + "/"):
                scored.add(key)
                print(f"{key} scored {score}", flush=True)
    print(f"all {count} detections scored by the hub", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
