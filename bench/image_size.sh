#!/usr/bin/env bash
# The Lambda image's size: uncompressed (what Docker and Lambda's 10 GB limit count) and, with
# --compressed, gzip-compressed as `docker save` writes its layers (close to what ECR stores and Lambda pulls).
#
#   bench/image_size.sh [--compressed] [TAG]   (default naver-sms:test; needs DOCKER_HOST, see
#                                               deploy/with-dockerd.sh; `make image-test` runs it)
set -euo pipefail

compressed=0
if [ "${1:-}" = --compressed ]; then compressed=1; shift; fi
TAG="${1:-naver-sms:test}"
DOCKER="${DOCKER:-/usr/bin/docker}"
bytes="$("$DOCKER" image inspect --format '{{.Size}}' "$TAG")"
line="$(awk -v t="$TAG" -v b="$bytes" 'BEGIN { printf "image %s: %d bytes (%.0f MB) uncompressed", t, b, b / 1e6 }')"
if [ "$compressed" = 1 ]; then
  gz="$("$DOCKER" save "$TAG" | gzip -c | wc -c)"  # gzip's default level, as `docker push` uses
  line="$line, $(awk -v b="$gz" 'BEGIN { printf "%d bytes (%.0f MB) gzip-compressed", b, b / 1e6 }')"
fi
echo "$line"
