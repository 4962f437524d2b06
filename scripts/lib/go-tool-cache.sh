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
