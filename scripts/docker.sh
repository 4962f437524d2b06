#!/usr/bin/env bash
# Makes sure a Docker engine answers and that the images docker-compose.yml, the Dockerfile and the
# tests name exist. Idempotent: a second run only checks. Prints what it does.
#
# 1. Engine: if `docker info` answers, it is used as it is. Otherwise, on Debian as root, installs
#    `docker.io` + `docker-compose` with apt when missing and starts `dockerd` in the background
#    (log: $cache_root/dockerd.log), then waits until `docker info` answers.
# 2. Images: each one is `docker pull`ed first. Only when the pull fails (no registry, as on machines
#    without Docker Hub) a local stand-in is built under the same tag, from a Debian bookworm root made
#    by debootstrap (cached in $cache_root), this machine's node/npm, and the Consul and Prometheus
#    binaries of scripts/consul.sh and scripts/prometheus.sh. Machines with a registry never build one.
#
# Stand-ins are meant to behave like the official images where the compose file and the tests rely
# on it (paths, entrypoints, the `node` user, default commands); they are not those images.
set -euo pipefail
cd "$(dirname "$0")/.."

CONSUL_IMAGE="hashicorp/consul:1.16.3"
NODE_IMAGE="node:20-slim"
PROMETHEUS_IMAGE="prom/prometheus:v3.16.0"
BASE_IMAGE="express-consul-standin/debian:bookworm-minbase"

cache_root="${EXPRESS_CONSUL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/express-consul}"
dockerd_log="$cache_root/dockerd.log"
base_tar="$cache_root/debian-bookworm-minbase.tar"
mkdir -p "$cache_root"

log() { printf '[docker.sh] %s\n' "$*"; }
fail() {
  printf '[docker.sh] %s\n' "$*" >&2
  exit 1
}

engine_answers() { docker info >/dev/null 2>&1; }

ensure_packages() {
  local missing=()
  command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
  command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 ||
    fail "missing ${missing[*]}: install Docker Engine and docker-compose (https://docs.docker.com/engine/install/), then run again"
  log "installing ${missing[*]} with apt-get"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >"$cache_root/apt-docker.log" 2>&1 ||
    fail "apt-get install ${missing[*]} failed (see $cache_root/apt-docker.log)"
}

ensure_engine() {
  if engine_answers; then
    log "engine: Docker $(docker version --format '{{.Server.Version}}' 2>/dev/null) answers ($(command -v docker))"
    ensure_packages
    return 0
  fi
  ensure_packages
  if ! pgrep -x dockerd >/dev/null 2>&1; then
    [ "$(id -u)" = 0 ] || fail "dockerd is not running and this is not root: start the Docker service, then run again"
    log "starting dockerd in the background (log: $dockerd_log)"
    # setsid: the daemon outlives this script and the shell that called it.
    setsid dockerd >>"$dockerd_log" 2>&1 </dev/null &
  else
    log "dockerd is running; waiting for it to answer"
  fi
  local waited=0
  until engine_answers; do
    [ $waited -ge 60 ] && fail "docker info did not answer within 60 s (see $dockerd_log)"
    sleep 1
    waited=$((waited + 1))
  done
  # The `docker` on PATH may be a client of another install (e.g. /usr/local/bin/docker); check that
  # the daemon it reaches is the one started here, not an engine elsewhere named by DOCKER_HOST.
  local server daemon
  server=$(docker version --format '{{.Server.Version}}')
  daemon=$(dockerd --version | sed -n 's/^Docker version \([^,]*\),.*/\1/p')
  [ "$server" = "$daemon" ] ||
    fail "docker ($(command -v docker)) reaches an engine $server, not the local dockerd $daemon (DOCKER_HOST=${DOCKER_HOST:-unset})"
  log "engine: Docker $server answers after ${waited}s ($(command -v docker) -> local dockerd)"
}

has_image() { docker image inspect "$1" >/dev/null 2>&1; }

# The images named in the compose file and the Dockerfile must be the ones this script provides.
check_named_images() {
  local named
  named=$(sed -n "s/^[[:space:]]*image:[[:space:]]*['\"]\{0,1\}\([^'\" ]*\).*/\1/p" docker-compose.yml
    sed -n 's/^FROM[[:space:]]\+\([^[:space:]]*\).*/\1/p' Dockerfile)
  local image
  for image in $named; do
    case "$image" in
      "$CONSUL_IMAGE" | "$NODE_IMAGE" | "$PROMETHEUS_IMAGE") ;;
      *) fail "docker-compose.yml/Dockerfile name $image, which this script does not provide" ;;
    esac
  done
}

debian_mirror() {
  local mirror
  mirror=$(sed -n 's/^URIs:[[:space:]]*\(http[^ ]*debian\)[[:space:]]*$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n 1)
  [ -n "$mirror" ] || mirror=$(sed -n 's/^deb[[:space:]]\+\(http[^ ]*debian\)[[:space:]]\+bookworm[[:space:]].*/\1/p' /etc/apt/sources.list 2>/dev/null | head -n 1)
  printf '%s\n' "${mirror:-http://deb.debian.org/debian}"
}

ensure_base() {
  has_image "$BASE_IMAGE" && return 0
  if [ ! -s "$base_tar" ]; then
    command -v debootstrap >/dev/null 2>&1 || {
      log "installing debootstrap with apt-get"
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >>"$cache_root/apt-docker.log" 2>&1
    }
    local root mirror started
    root=$(mktemp -d "$cache_root/bookworm-root.XXXXXX")
    mirror=$(debian_mirror)
    started=$(date +%s)
    log "debootstrap --variant=minbase bookworm from $mirror (about a minute)"
    debootstrap --variant=minbase bookworm "$root" "$mirror" >"$cache_root/debootstrap.log" 2>&1 ||
      fail "debootstrap failed (see $cache_root/debootstrap.log)"
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
    tar -C "$root" -cf "$base_tar.partial" .
    mv "$base_tar.partial" "$base_tar"
    rm -rf "$root"
    log "Debian bookworm minbase cached at $base_tar in $(($(date +%s) - started))s"
  fi
  log "importing $base_tar as $BASE_IMAGE"
  docker import "$base_tar" "$BASE_IMAGE" >/dev/null
}

# Builds TAG from a Dockerfile (stdin) and a context directory the caller filled.
build_standin() {
  local tag=$1 context=$2
  docker build --quiet -t "$tag" -f - "$context" >"$cache_root/build-standin.log" 2>&1 ||
    fail "docker build of the stand-in $tag failed (see $cache_root/build-standin.log)"
  log "built stand-in $tag"
}

standin_node() {
  local context
  context=$(mktemp -d)
  cp "$(readlink -f "$(command -v node)")" "$context/node"
  cp -a "$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")" "$context/npm"
  # Builds inside reach the npm registry through this machine's TLS-inspecting proxy: trust its CAs.
  cp "${NODE_EXTRA_CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}" "$context/ca-certificates.crt"
  build_standin "$NODE_IMAGE" "$context" <<DOCKERFILE
FROM $BASE_IMAGE
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt NPM_CONFIG_CAFILE=/etc/ssl/certs/ca-certificates.crt
CMD ["node"]
DOCKERFILE
  rm -rf "$context"
}

standin_consul() {
  local context
  context=$(mktemp -d)
  cp "$(bash scripts/consul.sh)" "$context/consul"
  build_standin "$CONSUL_IMAGE" "$context" <<DOCKERFILE
FROM $BASE_IMAGE
COPY consul /bin/consul
RUN mkdir -p /consul/data /consul/config
EXPOSE 8300 8301 8301/udp 8302 8302/udp 8500 8600 8600/udp
ENTRYPOINT ["consul"]
CMD ["agent", "-dev", "-client", "0.0.0.0"]
DOCKERFILE
  rm -rf "$context"
}

standin_prometheus() {
  local context binary
  binary=$(bash scripts/prometheus.sh) || fail "scripts/prometheus.sh found no Prometheus binary"
  context=$(mktemp -d)
  cp "$binary" "$context/prometheus"
  # Like the official image: binary in /bin, config in /etc/prometheus, data in /prometheus, user nobody.
  build_standin "$PROMETHEUS_IMAGE" "$context" <<DOCKERFILE
FROM $BASE_IMAGE
COPY prometheus /bin/prometheus
RUN mkdir -p /etc/prometheus /prometheus && chown 65534:65534 /prometheus \
 && printf 'global:\n  scrape_interval: 15s\n' >/etc/prometheus/prometheus.yml
USER 65534
WORKDIR /prometheus
EXPOSE 9090
ENTRYPOINT ["/bin/prometheus"]
CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]
DOCKERFILE
  rm -rf "$context"
}

ensure_image() {
  local image=$1 builder=$2
  if has_image "$image"; then
    log "image $image: present"
    return 0
  fi
  log "image $image: docker pull"
  if timeout 120 docker pull --quiet "$image" >/dev/null 2>"$cache_root/pull.log"; then
    log "image $image: pulled"
    return 0
  fi
  log "image $image: pull failed ($(tail -n 1 "$cache_root/pull.log")); building a local stand-in"
  ensure_base
  "$builder"
}

ensure_engine
check_named_images
ensure_image "$NODE_IMAGE" standin_node
ensure_image "$CONSUL_IMAGE" standin_consul
ensure_image "$PROMETHEUS_IMAGE" standin_prometheus
log "ready: $(docker-compose version --short 2>/dev/null | sed 's/^/docker-compose /')"
