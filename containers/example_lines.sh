#!/bin/sh
# Reads the example's output (`./dev example`, or the two containers' logs)
# on stdin and prints the lines that containers/example.out holds, tagged
# with the container that prints them, sorted.
#   containers/example_lines.sh <output       # what was printed
#   containers/example_lines.sh --expected    # what example.out expects
set -eu
if [ "${1:-}" = "--expected" ]; then
  grep -v '^#' "$(dirname "$0")/example.out" | LC_ALL=C sort
  exit 0
fi
sed -nE \
  -e '/py_plugin: connected to/d' \
  -e 's/^(\[event-engine\] [a-z]+: \[PyPlugin\] )?(py_plugin: .*)$/plugin| \2/p' \
  -e 's/^((Counter|MsgProducer): .*|example_app: all plugins finished)$/engine| \1/p' \
  | LC_ALL=C sort
