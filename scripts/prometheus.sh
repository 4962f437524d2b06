#!/usr/bin/env bash
# Prints the path of a `prometheus` binary that has Consul service discovery, building it when needed.
#
# Lookup order: $PROMETHEUS_BIN, the cache outside the clone, else a build. `prometheus` on PATH is
# not used: Debian's package (2.42) is built without consul_sd_configs and rejects our config.
# The cache lives in ${EXPRESS_CONSUL_CACHE:-$XDG_CACHE_HOME/express-consul}, shared with
# scripts/consul.sh. Progress goes to stderr; only the binary's path goes to stdout, so callers can
# do `PROMETHEUS=$(scripts/prometheus.sh)`.
#
# Why v0.316.0: Prometheus tags its Go module v0.3xx.y for release 3.x.y (Go modules cannot carry the
# v3 major without a /v3 path); this one is Apache-2.0 and discovers a Consul 1.16 agent's services.
set -euo pipefail
# shellcheck source=lib/go-tool-cache.sh
source "$(dirname "$0")/lib/go-tool-cache.sh"

PROMETHEUS_VERSION="${PROMETHEUS_VERSION:-v0.316.0}"
cache_root=$(go_tool_cache_root)
cache_dir="$cache_root/prometheus-$PROMETHEUS_VERSION"
cached_bin="$cache_dir/prometheus"

log() { printf '[prometheus.sh] %s\n' "$*" >&2; }

works() { [ -x "$1" ] && "$1" --version >/dev/null 2>&1; }

if [ -n "${PROMETHEUS_BIN:-}" ]; then
  works "$PROMETHEUS_BIN" || { log "PROMETHEUS_BIN=$PROMETHEUS_BIN does not run 'prometheus --version'"; exit 1; }
  printf '%s\n' "$PROMETHEUS_BIN"
  exit 0
fi
if works "$cached_bin"; then
  printf '%s\n' "$cached_bin"
  exit 0
fi

if ! go_tool_find_go; then
  cat >&2 <<MSG
[prometheus.sh] No cached Prometheus was found and Go is not installed, so it cannot be built here.
Get Prometheus 3.x one of these ways, then run again:
  - set PROMETHEUS_BIN=/path/to/prometheus (the release archives from prometheus.io include Consul SD);
  - or install Go (https://go.dev/dl/) and run this script again to build $PROMETHEUS_VERSION.
MSG
  exit 1
fi

go_tool_lock_cache "$cache_dir"
if works "$cached_bin"; then
  printf '%s\n' "$cached_bin"
  exit 0
fi

started=$(date +%s)
log "building Prometheus $PROMETHEUS_VERSION from its Go module (a cold build takes about 6 minutes on 2 cores)"
work=$(mktemp -d "$cache_dir/build.XXXXXX")
( while sleep 30; do log "still building... $(( $(date +%s) - started ))s"; done ) &
ticker=$!
trap 'kill $ticker 2>/dev/null || true; rm -rf "$work"' EXIT
if ! go_tool_install "github.com/prometheus/prometheus/cmd/prometheus@$PROMETHEUS_VERSION" "$work" prometheus.sh; then
  log "go install failed"
  exit 1
fi
kill $ticker 2>/dev/null || true
works "$work/prometheus" || { log "the built binary does not run"; exit 1; }
mv "$work/prometheus" "$cached_bin"
log "built Prometheus $PROMETHEUS_VERSION in $(( $(date +%s) - started ))s -> $cached_bin"
printf '%s\n' "$cached_bin"
