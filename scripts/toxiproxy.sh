#!/usr/bin/env bash
# Prints the path of a `toxiproxy-server` binary (Shopify's fault-injecting TCP proxy), building it
# from its Go module when needed.
#
# Lookup order: $TOXIPROXY_BIN, the cache outside the clone, else a build. The cache lives in
# ${EXPRESS_CONSUL_CACHE:-$XDG_CACHE_HOME/express-consul}, shared with scripts/consul.sh. Progress goes
# to stderr; only the binary's path goes to stdout, so callers can do `TOXIPROXY=$(scripts/toxiproxy.sh)`.
#
# Why v2.5.0: it is MIT-licensed, its HTTP API (proxies, toxics, reset) is the one the chaos harness
# speaks, and it builds from the module proxy in under a minute.
set -euo pipefail
# shellcheck source=lib/go-tool-cache.sh
source "$(dirname "$0")/lib/go-tool-cache.sh"

TOXIPROXY_VERSION="${TOXIPROXY_VERSION:-v2.5.0}"
cache_root=$(go_tool_cache_root)
cache_dir="$cache_root/toxiproxy-$TOXIPROXY_VERSION"
cached_bin="$cache_dir/toxiproxy-server"

log() { printf '[toxiproxy.sh] %s\n' "$*" >&2; }

works() { [ -x "$1" ] && "$1" -version >/dev/null 2>&1; }

if [ -n "${TOXIPROXY_BIN:-}" ]; then
  works "$TOXIPROXY_BIN" || { log "TOXIPROXY_BIN=$TOXIPROXY_BIN does not run 'toxiproxy-server -version'"; exit 1; }
  printf '%s\n' "$TOXIPROXY_BIN"
  exit 0
fi
if works "$cached_bin"; then
  printf '%s\n' "$cached_bin"
  exit 0
fi

if ! go_tool_find_go; then
  cat >&2 <<MSG
[toxiproxy.sh] No cached toxiproxy-server was found and Go is not installed, so it cannot be built here.
Get Toxiproxy one of these ways, then run again:
  - set TOXIPROXY_BIN=/path/to/toxiproxy-server (release archives from github.com/Shopify/toxiproxy);
  - or install Go (https://go.dev/dl/) and run this script again to build $TOXIPROXY_VERSION.
MSG
  exit 1
fi

go_tool_lock_cache "$cache_dir"
if works "$cached_bin"; then
  printf '%s\n' "$cached_bin"
  exit 0
fi

started=$(date +%s)
log "building Toxiproxy $TOXIPROXY_VERSION from its Go module (under a minute on 2 cores)"
work=$(mktemp -d "$cache_dir/build.XXXXXX")
trap 'rm -rf "$work"' EXIT
if ! go_tool_install "github.com/Shopify/toxiproxy/v2/cmd/server@$TOXIPROXY_VERSION" "$work" toxiproxy.sh; then
  log "go install failed"
  exit 1
fi
# `go install` names the binary after its package directory (`server`).
works "$work/server" || { log "the built binary does not run"; exit 1; }
mv "$work/server" "$cached_bin"
log "built Toxiproxy $TOXIPROXY_VERSION in $(( $(date +%s) - started ))s -> $cached_bin"
printf '%s\n' "$cached_bin"
