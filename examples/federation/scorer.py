"""The hub's scorer: answers each `Detection SITE/N ANIMAL`, from whichever
site it comes, with `Score SITE/N VALUE`. Runs until the hub stops."""

import sys
import zlib

import pyevents


def main() -> int:
    with pyevents.Plugin() as plugin:
        for event in plugin:
            _, key, animal = event.decode().split(" ", 2)
            score = zlib.crc32(animal.encode()) % 100 / 100
            print(f"{key}: {animal}, score {score:.2f}", flush=True)
            plugin.publish(f"Score {key} {score:.2f}".encode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
