#!/usr/bin/env bash
# Build the Lambda image (deploy/Dockerfile) on a machine without a registry: the base from
# deploy/build-base.sh, host networking only, and - where pip reaches PyPI through a TLS-intercepting
# proxy - the host's CA bundle handed to pip as a BuildKit secret (mounted while pip runs, never stored).
#
#   deploy/build-image.sh [TAG]     (default naver-sms:test; needs DOCKER_HOST, see with-dockerd.sh)
#
# Environment: NAVER_SMS_BASE_IMAGE (default naver-sms-base:bookworm), NAVER_SMS_PIP_CA (default $PIP_CERT,
# else $SSL_CERT_FILE; empty = no secret).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TAG="${1:-naver-sms:test}"
DOCKER="${DOCKER:-/usr/bin/docker}"
BASE_IMAGE="${NAVER_SMS_BASE_IMAGE:-naver-sms-base:bookworm}"
CA="${NAVER_SMS_PIP_CA-${PIP_CERT:-${SSL_CERT_FILE:-}}}"

secret=()
if [ -n "$CA" ]; then
  [ -s "$CA" ] || { echo "build-image: CA bundle $CA is missing or empty" >&2; exit 1; }
  secret=(--secret "id=pip_ca,src=$CA")
fi
started=$(date +%s)
# Debian's 20.10 client: its built-in BuildKit takes --secret (the v28 client here needs buildx for that).
DOCKER_BUILDKIT=1 "$DOCKER" build --network host --progress plain \
  --build-arg "BASE_IMAGE=$BASE_IMAGE" "${secret[@]}" \
  -f "$ROOT/deploy/Dockerfile" -t "$TAG" "$ROOT"
"$DOCKER" image prune --force >/dev/null  # the previous build of the tag, now untagged (this daemon's only)
echo "build-image: $TAG built in $(($(date +%s) - started))s; $("$ROOT/bench/image_size.sh" "$TAG")" >&2
