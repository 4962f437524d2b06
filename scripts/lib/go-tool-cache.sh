# Shared by the scripts that find or build a Go tool into the cache outside the clone
# (consul.sh, prometheus.sh, toxiproxy.sh). Source it; it defines functions only.

# The cache root every tool shares: ${EXPRESS_CONSUL_CACHE:-$XDG_CACHE_HOME/express-consul}.
go_tool_cache_root() {
  printf '%s\n' "${EXPRESS_CONSUL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/express-consul}"
}

# Puts Go's default install location on PATH when the shell lacks it; fails (status 1) without Go.
go_tool_find_go() {
  if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
    PATH="/usr/local/go/bin:$PATH"
  fi
  command -v go >/dev/null 2>&1
}

# Creates cache dir $1 and holds its lock (fd 9) until the script exits: one build at a time per
# cache, even when several shells (parallel test suites, CI steps) ask at once.
go_tool_lock_cache() {
  mkdir -p "$1"
  exec 9>"$1/.lock"
  if command -v flock >/dev/null 2>&1; then flock 9; fi
}

# `go install`s package $1 (PATH@VERSION) into scratch dir $2, niced, stripped, without cgo; on
# failure prints go's own lines (not the download chatter) with prefix $3 and fails. A scratch dir
# first, so a half-written binary never sits at the cached path; niced, as these machines are shared.
go_tool_install() {
  if ! CGO_ENABLED=0 GOBIN="$2" nice -n 10 go install -trimpath -ldflags "-s -w" "$1" \
    >"$2/go-install.log" 2>&1; then
    grep -v '^go: downloading' "$2/go-install.log" | sed "s/^/[$3 go install] /" >&2
    return 1
  fi
}
