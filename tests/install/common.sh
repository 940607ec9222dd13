# Sourced by the install tests: installs the build tree $1 into
# $work/prefix, $work being a temporary folder removed on exit.
set -euo pipefail
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$1" --prefix "$work/prefix" >/dev/null
