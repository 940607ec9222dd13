"""The include direction is one way, top to bottom:

    src/host, src/app.cpp          the program and the app that wires it
    actors/ (CAF)   bridge/ (ZeroMQ)   the runtime, meeting at bridge/seam.hpp
    src/core/                      the plain core: no CAF, no ZeroMQ, no threads
    include/ee/                    the public API

A file may include its own layer and the layers below it, never above."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterable, List, Tuple

REPO = Path(__file__).resolve().parents[2]
INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]([^>"]+)[>"]', re.MULTILINE)


def includes(folder: str) -> Iterable[Tuple[Path, str]]:
    for path in sorted((REPO / folder).rglob("*")):
        if path.suffix in (".hpp", ".cpp", ".h"):
            for m in INCLUDE.finditer(path.read_text(errors="replace")):
                yield path.relative_to(REPO), m.group(1)


def offending(folder: str, forbidden: List[str], allowed: List[str] = ()) -> List[str]:
    return [f"{path}: {inc}" for path, inc in includes(folder)
            if any(inc.startswith(f) for f in forbidden) and inc not in allowed]


def test_the_core_includes_nothing_above_it():
    assert offending("src/core", ["actors/", "bridge/", "caf/", "zmq", "src/host/",
                                  "host/", "src/app", "app_validation"]) == []


def test_the_bridge_knows_no_actor():
    assert offending("bridge", ["actors/", "caf/", "src/host/", "host/"]) == []


def test_actors_reach_the_bridge_only_through_the_seam():
    assert offending("actors", ["bridge/", "zmq", "src/host/", "host/"],
                     allowed=["bridge/seam.hpp"]) == []


def test_the_public_api_includes_no_machinery():
    bad = offending("include/ee", ["caf/", "zmq", "actors/", "bridge/", "src/"])
    # The opt-in header for raw CAF plugins is the one exception.
    assert [b for b in bad if not b.startswith("include/ee/caf.hpp")] == []
