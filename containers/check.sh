#!/usr/bin/env bash
# `./dev containers`: builds the base image (when no registry is used), the
# engine and pyevents images and the example's plugin image, then checks
# them with real containers:
#   * the two-container example (compose.yaml): both exit 0 and print what
#     example.out holds (what `./dev example` prints);
#   * an app from a mounted TOML, read-only root: healthy once ready;
#     `podman stop` is a clean stop (exit 0) well within the grace;
#   * a missing or invalid /app/app.toml: check's diagnostics, exit 2;
#   * a host port already taken: a clear error, no container left running;
#   * the engine killed under a plugin container: the plugin reconnects and
#     goes on when the engine is back;
# and prints each image's size. Cleans up every container, network and
# folder it made, also on failure. Environment:
#   EE_BASE   the base image (default: localhost/ee-debian:bookworm, built
#             by base.sh from this machine's Debian mirror; set it to
#             debian:bookworm-slim where a registry is reachable)
set -euo pipefail
cd "$(dirname "$0")/.."

# podman's settings for restricted hosts (see containers.conf) unless the
# caller has their own.
export CONTAINERS_CONF=${CONTAINERS_CONF:-$PWD/containers/containers.conf}
BASE=${EE_BASE:-localhost/ee-debian:bookworm}
ENGINE=localhost/event-engine:latest
PYEVENTS=localhost/pyevents:latest
PLUGIN=localhost/ee-example-plugin:latest
PROJECT=ee-check # the compose project; every container is named ee-check*
GRACE_S=10       # podman stop's grace (SIGTERM, then SIGKILL)
WORK=$(mktemp -d /tmp/ee-containers.XXXXXX)
chmod 755 "$WORK" # the containers' user reads the mounted files

say() { echo "containers: $*"; }
fail() {
  echo "containers: FAILED: $*" >&2
  exit 1
}

# podman without its complaints about systemd's health-check timers and
# syslog (hosts without systemd, like CI, run no periodic checks;
# `healthcheck run` works).
pod() {
  { podman "$@" 2>&1 1>&3 \
    | { grep -v -e 'systemd connection' -e 'connect to syslog' || true; } >&2
  } 3>&1
}

cleanup() {
  local ids
  ids=$(podman ps -aq --filter "name=^$PROJECT" 2>/dev/null || true)
  if [[ -n $ids ]]; then
    podman rm -f -t 0 $ids >/dev/null 2>&1 || true
  fi
  podman-compose -p "$PROJECT" -f containers/compose.yaml down \
    >/dev/null 2>&1 || true
  # (podman-compose 1.0.3's down leaves the compose network.)
  podman network rm -f "$PROJECT-net" "${PROJECT}_events" >/dev/null 2>&1 \
    || true
  if [[ -n ${HOLDER:-} ]]; then
    kill "$HOLDER" 2>/dev/null || true
    wait "$HOLDER" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

build() { # IMAGE FILE [ARGS...]
  local image=$1 file=$2
  shift 2
  say "building $image"
  podman build --format docker --network host --layers -f "$file" \
    -t "$image" "$@" . >"$WORK/build.log" 2>&1 || {
    tail -n 40 "$WORK/build.log"
    fail "podman build -f $file"
  }
}

build_images() {
  [[ $BASE == localhost/ee-debian:* ]] && containers/base.sh "$BASE"
  build "$ENGINE" containers/engine.Containerfile --build-arg BASE="$BASE"
  build "$PYEVENTS" containers/pyevents.Containerfile --build-arg BASE="$BASE"
  build "$PLUGIN" containers/example/plugin.Containerfile \
    --build-arg PYEVENTS="$PYEVENTS"
}

# The two-container example: both exit 0 with example.out's lines.
check_example() {
  say "the two-container example (compose.yaml)"
  podman-compose -p "$PROJECT" -f containers/compose.yaml up -d \
    >"$WORK/compose.log" 2>&1 || {
    cat "$WORK/compose.log"
    fail "podman-compose up"
  }
  local engine=${PROJECT}_engine_1 plugin=${PROJECT}_plugin_1 codes
  codes=$(timeout 120 podman wait "$engine" "$plugin" | tr '\n' ' ') \
    || fail "the example did not finish within 120 s"
  podman logs "$engine" >"$WORK/engine.out" 2>&1
  podman logs "$plugin" >"$WORK/plugin.out" 2>&1
  if [[ $codes != "0 0 " ]]; then
    cat "$WORK/engine.out" "$WORK/plugin.out"
    fail "exit codes (engine plugin): $codes"
  fi
  cat "$WORK/engine.out" "$WORK/plugin.out" | containers/example_lines.sh \
    >"$WORK/got"
  containers/example_lines.sh --expected >"$WORK/expected"
  diff -u "$WORK/expected" "$WORK/got" || fail "the example's output differs"
  podman-compose -p "$PROJECT" -f containers/compose.yaml down >/dev/null 2>&1
  say "both containers exited 0 with the output of ./dev example"
}

# Waits up to $2 seconds for `podman healthcheck run $1` to pass.
wait_healthy() {
  local deadline=$((SECONDS + $2))
  until podman healthcheck run "$1" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

# Writes DIR/app.toml: the type Reading and the external plugin "monitor" on
# port 6000, with the [engine] setting given as the second argument, if any.
write_monitor_app() {
  mkdir -p "$1"
  {
    if [ -n "${2:-}" ]; then printf '[engine]\n%s\n\n' "$2"; fi
    cat <<'EOF'
[types]
Reading = "Reading"

[[plugin]]
name = "monitor"
port = 6000
subscriptions = ["Reading"]
EOF
  } >"$1/app.toml"
}

# An app from a mounted TOML on a read-only root: healthy once ready, and
# `podman stop` (SIGTERM to PID 1) is a clean stop within the grace.
check_app_and_stop() {
  say "an app from a mounted /app/app.toml; podman stop"
  write_monitor_app "$WORK/app"
  local c=$PROJECT-engine
  pod run -d --name "$c" --read-only -v "$WORK/app:/app:ro" "$ENGINE" \
    >/dev/null
  wait_healthy "$c" 60 || {
    podman logs "$c"
    fail "the engine never became healthy"
  }
  [[ $(podman inspect -f '{{.State.Health.Status}}' "$c") == healthy ]] \
    || fail "health status: $(podman inspect -f '{{.State.Health.Status}}' "$c")"
  local start code took
  start=$(date +%s%N)
  pod stop -t "$GRACE_S" "$c" >/dev/null
  took=$((($(date +%s%N) - start) / 1000000))
  code=$(podman inspect -f '{{.State.ExitCode}}' "$c")
  podman logs "$c" >"$WORK/stop.out" 2>&1
  [[ $code == 0 ]] || {
    cat "$WORK/stop.out"
    fail "podman stop: exit code $code (137 = killed after the grace)"
  }
  ((took < GRACE_S * 1000)) \
    || fail "podman stop took ${took} ms (grace ${GRACE_S} s)"
  grep -q "signal received: stopping" "$WORK/stop.out" \
    && grep -q "event-engine: all plugins finished" "$WORK/stop.out" \
    || fail "no clean stop on SIGTERM in the log: $(cat "$WORK/stop.out")"
  pod rm "$c" >/dev/null
  say "healthy when ready; podman stop: exit 0 in ${took} ms (grace ${GRACE_S} s)"
}

# A missing and an invalid /app/app.toml: check's diagnostics, exit 2.
check_bad_input() {
  say "a missing and an invalid /app/app.toml"
  mkdir -p "$WORK/empty" "$WORK/bad"
  printf '[engine]\npublsh_port = 5559\n[[plugin]]\nname = "p"\n' \
    >"$WORK/bad/app.toml"
  local rc=0
  podman run --rm --name "$PROJECT-missing" --read-only --no-healthcheck \
    -v "$WORK/empty:/app:ro" "$ENGINE" >"$WORK/missing.out" 2>&1 || rc=$?
  [[ $rc == 2 ]] && grep -q "/app/app.toml" "$WORK/missing.out" \
    || fail "missing app.toml: exit $rc: $(cat "$WORK/missing.out")"
  rc=0
  podman run --rm --name "$PROJECT-invalid" --read-only --no-healthcheck \
    -v "$WORK/bad:/app:ro" "$ENGINE" >"$WORK/invalid.out" 2>&1 || rc=$?
  [[ $rc == 2 ]] && grep -q "app.toml:2:1: error: unknown key 'publsh_port'" \
    "$WORK/invalid.out" \
    || fail "invalid app.toml: exit $rc: $(cat "$WORK/invalid.out")"
  say "exit 2: $(head -n 1 "$WORK/missing.out")"
}

# A host port already taken: podman refuses with a clear error.
check_port_taken() {
  say "a host port already taken"
  /usr/bin/python3 -c '
import socket, sys, time
s = socket.socket()
s.bind(("0.0.0.0", 0))
s.listen()
print(s.getsockname()[1], flush=True)
time.sleep(300)' >"$WORK/port" &
  HOLDER=$!
  local deadline=$((SECONDS + 30))
  until [[ -s $WORK/port ]]; do
    ((SECONDS < deadline)) || fail "no port from the holder"
    sleep 0.1
  done
  local port rc=0
  port=$(cat "$WORK/port")
  podman run -d --name "$PROJECT-taken" -p "$port:5559" --no-healthcheck \
    -v "$WORK/app:/app:ro" "$ENGINE" >"$WORK/taken.out" 2>&1 || rc=$?
  kill "$HOLDER" && wait "$HOLDER" || true
  HOLDER=
  ((rc != 0)) && grep -q "address already in use" "$WORK/taken.out" \
    || fail "port $port taken: exit $rc: $(cat "$WORK/taken.out")"
  # podman leaves the container created, never started: remove it.
  [[ $(podman inspect -f '{{.State.Status}}' "$PROJECT-taken") != running ]] \
    || fail "the container runs although its port was taken"
  podman rm "$PROJECT-taken" >/dev/null
  say "exit $rc: $(grep -o "Error: .*" "$WORK/taken.out")"
}

# Waits up to $3 seconds for container $1's log to match $2.
wait_log() {
  local deadline=$((SECONDS + $3))
  until podman logs "$1" 2>&1 | grep -q -- "$2"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

# Publishes Reading$2 into engine container $1 (event-engine pub on its
# loopback).
publish() {
  podman exec "$1" event-engine pub --types /app/app.toml --type Reading \
    "$2" >"$WORK/pub.out" 2>&1 || fail "pub: $(cat "$WORK/pub.out")"
}

# The engine container killed under a plugin container and started again:
# the plugin (pyevents' Plugin, waiting in next_msg) goes on.
check_reconnect() {
  say "the engine killed and restarted under a plugin container"
  # The containers' own network (see compose.yaml).
  write_monitor_app "$WORK/net" 'bind_address = "0.0.0.0"'
  cat >"$WORK/net/monitor.py" <<'EOF'
import logging

import pyevents

logging.basicConfig(level=logging.INFO)  # pyevents says when it reconnects
with pyevents.Plugin() as plugin:  # EE_PLUGIN_HOST, EE_PLUGIN_PORT
    while True:
        event = plugin.next_msg()
        print("monitor: got", event.decode(), flush=True)
        if event == b"Readingstop":
            break
EOF
  local e=$PROJECT-r-engine p=$PROJECT-r-plugin rc subnet ip
  podman network create "$PROJECT-net" >/dev/null 2>&1
  # The engine keeps its address across the restart and the plugin uses
  # it: podman 4.3's name server (CNI dnsname) may stop answering after a
  # container on the network was killed and started again.
  subnet=$(podman network inspect -f '{{range .Subnets}}{{.Subnet}}{{end}}' \
    "$PROJECT-net")
  ip=${subnet%.*}.200
  pod run -d --name "$e" --network "$PROJECT-net" --ip "$ip" --read-only \
    -v "$WORK/net:/app:ro" "$ENGINE" >/dev/null
  pod run -d --name "$p" --network "$PROJECT-net" --read-only \
    -e EE_PLUGIN_HOST="$ip" -e EE_PLUGIN_PORT=6000 \
    -v "$WORK/net:/plugin:ro" "$PYEVENTS" python3 /plugin/monitor.py >/dev/null
  wait_healthy "$e" 60 || fail "the engine never became healthy"
  publish "$e" 1
  wait_log "$p" "got Reading1" 60 || fail "no Reading1: $(podman logs "$p")"
  pod kill "$e" >/dev/null
  podman wait "$e" >/dev/null
  wait_log "$p" "connection to the engine lost" 30 \
    || fail "the plugin did not notice: $(podman logs "$p" 2>&1)"
  pod start "$e" >/dev/null
  wait_healthy "$e" 60 || fail "the restarted engine never became healthy"
  publish "$e" 2
  publish "$e" stop
  # The plugin reconnects within about 30 s here: the restarted container
  # has a new MAC address, which the plugin's ARP cache learns late.
  rc=$(timeout 120 podman wait "$p") \
    || fail "the plugin did not go on: $(podman logs "$p" 2>&1)"
  podman logs "$p" >"$WORK/reconnect.out" 2>&1
  [[ $rc == 0 ]] && grep -q "got Reading2" "$WORK/reconnect.out" \
    || fail "plugin exit $rc: $(cat "$WORK/reconnect.out")"
  pod rm -f -t 0 "$e" "$p" >/dev/null
  podman network rm "$PROJECT-net" >/dev/null 2>&1
  say "the plugin reconnected and got the restarted engine's events"
}

print_sizes() {
  say "image sizes:"
  podman image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' \
    | grep -E "^($ENGINE|$PYEVENTS|$PLUGIN|$BASE) " \
    | while read -r image size; do printf '  %-40s %s\n' "$image" "$size"; done
}

# One function, read whole before it runs: editing this file during a run
# does not change the run.
main() {
  build_images
  check_example
  check_app_and_stop
  check_bad_input
  check_port_taken
  check_reconnect
  print_sizes
  say "all checks passed"
}

main "$@"
