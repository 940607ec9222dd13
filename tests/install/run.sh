#!/usr/bin/env bash
# Installs the build tree into a temporary prefix and builds a program
# against it with find_package(event_engine): the install rules and the
# package config work for another project.
#   run.sh BUILD_DIR SOURCE_FILE
set -euo pipefail
source_file=$2
source "$(dirname "$0")/common.sh" "$1"
mkdir "$work/consumer"
cp "$(dirname "$0")/CMakeLists.txt.in" "$work/consumer/CMakeLists.txt"
cp "$source_file" "$work/consumer/main.cpp"
cmake -S "$work/consumer" -B "$work/build" -DCMAKE_PREFIX_PATH="$work/prefix" \
  >/dev/null
cmake --build "$work/build" >/dev/null
"$work/build/consumer"
echo "find_package(event_engine) consumer: ok"
