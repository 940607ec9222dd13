#!/usr/bin/env bash
# Installs the build tree into a temporary prefix, builds the plugin
# library of examples/plugin_library as a project of its own against it
# (find_package(event_engine) + ee_add_plugin), and runs its app with the
# installed event-engine.
#   plugin_run.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
source_dir=$2
source "$(dirname "$0")/common.sh" "$1"
cp -r "$source_dir/examples/plugin_library" "$work/plugins"
cmake -S "$work/plugins" -B "$work/build" -DCMAKE_PREFIX_PATH="$work/prefix" \
  >/dev/null
cmake --build "$work/build" >/dev/null
test -f "$work/build/libexample_plugins.so"
# The plugin links no copy of the engine: its engine symbols stay undefined
# and come from event-engine when it is loaded.
if nm -C --defined-only "$work/build/libexample_plugins.so" |
    grep -q ' T ee::log('; then
  echo "the plugin library contains its own ee::log" >&2
  exit 1
fi
EE_PLUGIN_PATH="$work/build" "$work/prefix/bin/event-engine" check \
  "$work/plugins/app.toml"
out=$(EE_PLUGIN_PATH="$work/build" "$work/prefix/bin/event-engine" run \
  "$work/plugins/app.toml" 2>&1)
echo "$out"
grep -q "\[counter\] counted 5 events" <<<"$out"
grep -q "\[producer\] got replies 17 17 17 17 17" <<<"$out"
echo "installed plugin project: ok"
