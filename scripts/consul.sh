#!/usr/bin/env bash
# Prints the path of a working `consul` binary, building it from Consul's Go module when needed.
#
# Lookup order: $CONSUL_BIN, `consul` on PATH, the cache outside the clone, else a build.
# The cache lives in ${EXPRESS_CONSUL_CACHE:-$XDG_CACHE_HOME/express-consul} so a fresh clone
# (and CI) reuses a build made earlier on the same machine. Progress goes to stderr; only the
# binary's path goes to stdout, so callers can do `CONSUL=$(scripts/consul.sh)`.
#
# Why v1.16.3: it is the newest Consul release under the MPL-2.0. From v1.17.0 on (and the late
# v1.16.x patches) Consul and its envoyextensions/troubleshoot modules are under the Business
# Source License, which this project does not build against.
set -euo pipefail
# shellcheck source=lib/go-tool-cache.sh
source "$(dirname "$0")/lib/go-tool-cache.sh"

CONSUL_VERSION="${CONSUL_VERSION:-v1.16.3}"
cache_root=$(go_tool_cache_root)
cache_dir="$cache_root/consul-$CONSUL_VERSION"
cached_bin="$cache_dir/consul"

log() { printf '[consul.sh] %s\n' "$*" >&2; }

works() { [ -x "$1" ] && "$1" version >/dev/null 2>&1; }

if [ -n "${CONSUL_BIN:-}" ]; then
  works "$CONSUL_BIN" || { log "CONSUL_BIN=$CONSUL_BIN does not run 'consul version'"; exit 1; }
  printf '%s\n' "$CONSUL_BIN"
  exit 0
fi
if on_path=$(command -v consul 2>/dev/null) && works "$on_path"; then
  printf '%s\n' "$on_path"
  exit 0
fi
if works "$cached_bin"; then
  printf '%s\n' "$cached_bin"
  exit 0
fi

if ! go_tool_find_go; then
  cat >&2 <<MSG
[consul.sh] No consul binary was found and Go is not installed, so it cannot be built here.
Get Consul one of these ways, then run again:
  - set CONSUL_BIN=/path/to/consul, or put 'consul' on PATH (HashiCorp's release archives);
  - or run an agent with 'docker compose up consul' and set CONSUL_HTTP_ADDR=http://127.0.0.1:8500;
  - or install Go (https://go.dev/dl/) and run this script again to build Consul $CONSUL_VERSION.
MSG
  exit 1
fi

go_tool_lock_cache "$cache_dir"
if works "$cached_bin"; then
  printf '%s\n' "$cached_bin"
  exit 0
fi

started=$(date +%s)
log "building Consul $CONSUL_VERSION from its Go module (a cold build takes several minutes)"
work=$(mktemp -d "$cache_dir/build.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"
# `go install github.com/hashicorp/consul@vX` refuses modules whose go.mod has replace/exclude
# lines, so a throwaway wrapper module pulls Consul in as a dependency instead.
go mod init express-consul-consul-build >/dev/null 2>&1
cat >>go.mod <<'MOD'

// Copied from Consul's own go.mod: these versions break its raft/msgpack encoding.
exclude (
	github.com/hashicorp/go-msgpack v1.1.5
	github.com/hashicorp/go-msgpack v1.1.6
)
MOD
cat >tools.go <<'GO'
//go:build tools

package tools

import _ "github.com/hashicorp/consul"
GO
log "resolving modules (go get github.com/hashicorp/consul@$CONSUL_VERSION)"
consul_mod=$(go mod download -json "github.com/hashicorp/consul@$CONSUL_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -f "$consul_mod/go.sum" ] || { log "could not download github.com/hashicorp/consul@$CONSUL_VERSION"; exit 1; }
# Consul's own go.sum pins every dependency's hash; seeding it here also covers modules the
# checksum database no longer serves (hcp-sdk-go v0.55.0 answers 404 there).
cp "$consul_mod/go.sum" go.sum
if [ "$CONSUL_VERSION" = v1.16.3 ]; then
  # Consul builds these two modules from its own tree (replace lines), so its go.sum lacks them and
  # the checksum database does not answer for them. Pinned here: both are MPL-2.0 at these versions.
  cat >>go.sum <<'SUM'
github.com/hashicorp/consul/envoyextensions v0.4.1 h1:7s3IXE+qmwjPbZPva+8BjHLrpkFrFkNE+z/6X/O6PQc=
github.com/hashicorp/consul/envoyextensions v0.4.1/go.mod h1:PkLAV99qviACPT7v8Pn7d/vacZixC8/4fuZpR7Rf7vA=
github.com/hashicorp/consul/troubleshoot v0.3.1 h1:M3sAzWRT3xXseRoa/Z8q8Kf+Ws0J1xN8nLDj0dC2UIw=
github.com/hashicorp/consul/troubleshoot v0.3.1/go.mod h1:QjmTNmf2Umo/mqTjW+EhDAHEG2l15B81CkcxhF4GALU=
SUM
fi
if ! go get "github.com/hashicorp/consul@$CONSUL_VERSION" >"$work/go-get.log" 2>&1; then
  grep -v '^go: downloading' "$work/go-get.log" | sed 's/^/[go get] /' >&2
  log "go get failed"
  exit 1
fi
log "compiling (go build, usually 5-15 minutes on 2 cores)"
( while sleep 30; do log "still compiling... $(( $(date +%s) - started ))s"; done ) &
ticker=$!
trap 'kill $ticker 2>/dev/null || true; rm -rf "$work"' EXIT
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$work/consul" github.com/hashicorp/consul
kill $ticker 2>/dev/null || true
works "$work/consul" || { log "the built binary does not run"; exit 1; }
mv "$work/consul" "$cached_bin"
log "built $("$cached_bin" version | sed -n 1p) in $(( $(date +%s) - started ))s -> $cached_bin"
printf '%s\n' "$cached_bin"
