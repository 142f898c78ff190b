#!/usr/bin/env bash
# Build the Debian bookworm base image from Debian's own packages, for machines that reach no registry:
# mmdebstrap (minbase, merged /usr) -> docker import. It stands in for `debian:bookworm-slim`: same
# release, same mirror (deb.debian.org, with bookworm-updates and bookworm-security), documentation,
# manual pages and translations left out the way the slim image does.
#
#   deploy/build-base.sh [TAG]      (default naver-sms-base:bookworm; needs DOCKER_HOST, see with-dockerd.sh)
#
# An image of that tag already there is reused (a local cache); NAVER_SMS_REBUILD_BASE=1 builds it anew.
# Users with a registry skip this: `docker build` defaults to BASE_IMAGE=debian:bookworm-slim.
set -euo pipefail

TAG="${1:-naver-sms-base:bookworm}"
DOCKER="${DOCKER:-/usr/bin/docker}"
MIRROR="${NAVER_SMS_DEBIAN_MIRROR:-http://deb.debian.org}"

if [ "${NAVER_SMS_REBUILD_BASE:-0}" != 1 ] && "$DOCKER" image inspect "$TAG" >/dev/null 2>&1; then
  echo "build-base: reusing $TAG ($("$DOCKER" image inspect --format '{{.Created}}' "$TAG"))" >&2
  exit 0
fi
command -v mmdebstrap >/dev/null || { echo "build-base: apt-get install mmdebstrap" >&2; exit 1; }

WORK="$(mktemp -d "${TMPDIR:-/tmp}/naver-sms-base.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
started=$(date +%s)
# root mode (mmdebstrap mounts /proc, /sys and /dev inside the chroot while installing, and unmounts them)
mmdebstrap --quiet --variant=minbase --mode=root \
  --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
  --aptopt='APT::Install-Recommends "false"' \
  --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  --dpkgopt='path-include=/usr/share/locale/locale.alias' \
  --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --dpkgopt='path-exclude=/usr/share/info/*' \
  --dpkgopt='path-exclude=/usr/share/lintian/*' \
  bookworm "$WORK/rootfs.tar" \
  "deb $MIRROR/debian bookworm main" \
  "deb $MIRROR/debian bookworm-updates main" \
  "deb $MIRROR/debian-security bookworm-security main"
"$DOCKER" import \
  --change 'CMD ["bash"]' \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --message "naver-sms: Debian bookworm minbase from mmdebstrap" \
  "$WORK/rootfs.tar" "$TAG" >/dev/null
echo "build-base: $TAG built in $(($(date +%s) - started))s, $("$DOCKER" image inspect --format '{{.Size}}' "$TAG") bytes" >&2
