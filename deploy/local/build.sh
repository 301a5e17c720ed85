#!/bin/sh
# Local stand-ins for the compose file's base images, for machines that reach no image registry but do reach
# Debian's package mirror (and have Deno installed): every image is built from Debian packages on a Debian
# bookworm minbase root made with debootstrap.
#
#   localhost/debian:bookworm-minbase   debootstrap --variant=minbase bookworm, then docker import
#   localhost/debian:bookworm-cc        libc6 and libgcc-s1 alone (no shell), like gcr.io/distroless/cc-debian12
#   localhost/deno:2.9.6                the base + this machine's deno binary (the npm package's; glibc)
#   localhost/postgres:15               the base + Debian's postgresql-15, honouring POSTGRES_USER/PASSWORD/DB
#   localhost/prometheus:2.42           the base + the prometheus and promtool binaries of Debian's package
#
# Usage: deploy/local/build.sh [all|base|cc|deno|postgres|prometheus]... (default: all). An image that exists already
# is kept (FORCE=1 rebuilds it). Needs root (debootstrap), a running Docker daemon and /usr/bin/docker.
# Environment: DOCKER (client, default /usr/bin/docker), WORK (scratch space, default /tmp/tgpulse-local; the
# minbase root is made there and removed after the import), MIRROR (Debian mirror, default deb.debian.org).
# Then build the app on them:
#   DOCKER_BUILDKIT=1 docker build --build-arg DENO_IMAGE=localhost/deno:2.9.6 \
#     --build-arg BASE_IMAGE=localhost/debian:bookworm-cc \
#     --secret id=ca,src=/etc/ssl/certs/ca-certificates.crt -t tgpulse:latest .
set -eu

DOCKER=${DOCKER:-/usr/bin/docker}
WORK=${WORK:-/tmp/tgpulse-local}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
HERE=$(cd "$(dirname "$0")" && pwd)

BASE=localhost/debian:bookworm-minbase
CC=localhost/debian:bookworm-cc
DENO=localhost/deno:2.9.6
POSTGRES=localhost/postgres:15
PROMETHEUS=localhost/prometheus:2.42

say() { printf '%s\n' "deploy/local: $*" >&2; }

have() { [ -z "${FORCE:-}" ] && "$DOCKER" image inspect "$1" > /dev/null 2>&1; }

build() { # TAG DOCKERFILE CONTEXT
  DOCKER_BUILDKIT=1 "$DOCKER" build --build-arg "BASE_IMAGE=$BASE" -t "$1" -f "$2" "$3"
}

base() {
  if have "$BASE"; then say "$BASE exists"; return; fi
  command -v debootstrap > /dev/null || { say "debootstrap is missing: apt-get install -y debootstrap"; exit 1; }
  rootfs="$WORK/rootfs"
  rm -rf "$rootfs"
  mkdir -p "$rootfs"
  say "debootstrap --variant=minbase bookworm (a few minutes)"
  debootstrap --variant=minbase bookworm "$rootfs" "$MIRROR" > "$WORK/debootstrap.log" 2>&1 || {
    tail -20 "$WORK/debootstrap.log" >&2
    exit 1
  }
  # Lean: no package lists, docs or caches in the base (apt-get update fetches the lists again when needed).
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb \
    "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/var/log/*.log
  tar -C "$rootfs" -c . | "$DOCKER" import \
    -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' -c 'CMD ["/bin/bash"]' - "$BASE"
  rm -rf "$rootfs"
  say "$BASE imported"
}

cc_image() {
  if have "$CC"; then say "$CC exists"; return; fi
  build "$CC" "$HERE/cc.Dockerfile" "$HERE"
}

deno_image() {
  if have "$DENO"; then say "$DENO exists"; return; fi
  bin=$(readlink -f "$(command -v deno)")
  version=$("$bin" --version | head -1)
  case "$version" in "deno 2.9.6 "*) ;; *) say "want deno 2.9.6, found: $version"; exit 1 ;; esac
  ctx="$WORK/deno-context"
  rm -rf "$ctx"
  mkdir -p "$ctx"
  cp "$bin" "$ctx/deno"
  build "$DENO" "$HERE/deno.Dockerfile" "$ctx"
  rm -rf "$ctx"
}

postgres_image() {
  if have "$POSTGRES"; then say "$POSTGRES exists"; return; fi
  build "$POSTGRES" "$HERE/postgres.Dockerfile" "$HERE"
}

prometheus_image() {
  if have "$PROMETHEUS"; then say "$PROMETHEUS exists"; return; fi
  build "$PROMETHEUS" "$HERE/prometheus.Dockerfile" "$HERE"
}

mkdir -p "$WORK"
[ $# -gt 0 ] || set -- all
for what in "$@"; do
  case "$what" in
    all) base; cc_image; deno_image; postgres_image; prometheus_image ;;
    base) base ;;
    cc) base; cc_image ;;
    deno) base; deno_image ;;
    postgres) base; postgres_image ;;
    prometheus) base; prometheus_image ;;
    *) say "unknown image: $what (all, base, cc, deno, postgres, prometheus)"; exit 2 ;;
  esac
done
