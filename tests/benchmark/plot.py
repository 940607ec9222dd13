#!/usr/bin/python3
"""Plot the load-test pipeline figures of an ee_benchmark run.

Reads the benchmark's output (the ``RESULT name=value unit ratio=x`` lines)
and draws, for the engine and the raw libzmq baseline, the pipeline's
throughput and peak RSS against the event count and the fan-out's
deliveries/s against the number of subscribers (medians; the bars span the
engine's worst and best round):

    ./dev bench | tee bench.txt
    /usr/bin/python3 tests/benchmark/plot.py bench.txt      # -> docs/performance.png

Needs matplotlib (Debian: ``apt-get install python3-matplotlib``).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import defaultdict
from pathlib import Path
from typing import Dict, Iterable, Tuple

RESULT = re.compile(r"^RESULT (\S+)=(\S+) (.*?) ratio=(\S+)\s*$")
PIPELINE = re.compile(r"^pipeline_(throughput|peak_rss)_n(\d+)(_raw)?$")
FANOUT = re.compile(r"^fanout_deliveries_k(\d+)(_raw|_min|_max)?$")

Series = Dict[Tuple[str, str], Dict[int, float]]


def parse(lines: Iterable[str]) -> Series:
    """Returns {(figure, "engine"|"raw"): {count: value}}."""
    series: Series = defaultdict(dict)
    for line in lines:
        m = RESULT.match(line.strip())
        if not m:
            continue
        name, value = m.group(1), float(m.group(2))
        f = FANOUT.match(name)
        if f:
            kind = {"_raw": "raw", "_min": "min", "_max": "max"}.get(
                f.group(2), "engine")
            series[("fanout", kind)][int(f.group(1))] = value
            continue
        p = PIPELINE.match(name)
        if not p:
            continue
        figure, count, raw = p.group(1), int(p.group(2)), p.group(3)
        series[(figure, "raw" if raw else "engine")][count] = value
    return series


def plot(series: Series, out: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_tp, ax_rss, ax_fan) = plt.subplots(1, 3, figsize=(15, 4.2))
    styles = {
        "engine": dict(marker="o", color="tab:blue", label="event-engine"),
        "raw": dict(marker="s", color="tab:red", linestyle="--",
                    label="raw libzmq (PUB→proxy→SUB, HWM 0)"),
    }
    for kind, style in styles.items():
        tp = series.get(("throughput", kind), {})
        if tp:
            xs = sorted(tp)
            ax_tp.plot(xs, [tp[x] / 1e6 for x in xs], **style)
        rss = series.get(("peak_rss", kind), {})
        if rss:
            xs = sorted(rss)
            ax_rss.plot(xs, [rss[x] for x in xs], **style)
    ax_tp.set_xscale("log")
    ax_tp.set_xlabel("events")
    ax_tp.set_ylabel("throughput (million events/s)")
    ax_tp.set_ylim(bottom=0)
    ax_tp.set_title("pipeline throughput")
    ax_tp.grid(True, which="both", alpha=0.3)
    ax_tp.legend(loc="lower right", fontsize=8)
    ax_rss.set_xscale("log")
    ax_rss.set_yscale("log")
    ax_rss.axhline(32, color="gray", linestyle=":", label="target: 32 MB")
    ax_rss.set_xlabel("events")
    ax_rss.set_ylabel("peak RSS (MB, log)")
    ax_rss.set_title("pipeline peak RSS (0 events lost)")
    ax_rss.grid(True, which="both", alpha=0.3)
    ax_rss.legend(loc="upper left", fontsize=8)
    plot_fanout(series, ax_fan, styles)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)


def plot_fanout(series: Series, ax, styles) -> None:
    engine = series.get(("fanout", "engine"), {})
    raw = series.get(("fanout", "raw"), {})
    lo = series.get(("fanout", "min"), {})
    hi = series.get(("fanout", "max"), {})
    if engine:
        xs = sorted(engine)
        ys = [engine[x] / 1e6 for x in xs]
        err = [[ys[i] - lo.get(x, engine[x]) / 1e6 for i, x in enumerate(xs)],
               [hi.get(x, engine[x]) / 1e6 - ys[i] for i, x in enumerate(xs)]]
        ax.errorbar(xs, ys, yerr=err, capsize=3, **styles["engine"])
    if raw:
        xs = sorted(raw)
        style = dict(styles["raw"], label="raw libzmq (inproc PUB→K SUB)")
        ax.plot(xs, [raw[x] / 1e6 for x in xs], **style)
    ax.set_xscale("log")
    ax.set_xlabel("subscribers")
    ax.set_ylabel("deliveries (million/s)")
    ax.set_ylim(bottom=0)
    ax.set_title("one-hop fan-out (100 B events, one shared buffer)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)


def main() -> int:
    default_out = Path(__file__).resolve().parents[2] / "docs" / "performance.png"
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("input", nargs="?", default="-",
                    help="benchmark output (default: stdin)")
    ap.add_argument("-o", "--output", type=Path, default=default_out,
                    help=f"PNG to write (default: {default_out})")
    ap.add_argument("--title", default="ee_benchmark: load-test pipeline "
                    "(producer → operator → accumulator, 100..1000 B events) "
                    "and fan-out; medians of interleaved rounds")
    args = ap.parse_args()
    if args.input == "-":
        lines = sys.stdin.readlines()
    else:
        lines = Path(args.input).read_text().splitlines()
    series = parse(lines)
    if not series:
        print("plot.py: no pipeline RESULT lines found", file=sys.stderr)
        return 1
    plot(series, args.output, args.title)
    print(f"plot.py: wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
