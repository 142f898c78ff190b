#!/usr/bin/env bash
# Run one command against a Docker daemon of its own, then stop it and leave nothing behind.
#
#   deploy/with-dockerd.sh COMMAND [ARGS...]
#
# The daemon is started for COMMAND only, with:
#   - no networks but `host` and `none`: --bridge=none (no docker0), --iptables=false, --ip-masq=false,
#     --ip-forward=false: nothing is created in a private address range, no firewall rule is touched;
#   - its own --config-file, --data-root, --exec-root, --pidfile and unix socket, so it never reads or
#     touches a system daemon's files (the data root persists between runs as a cache; the rest is removed).
# COMMAND sees DOCKER_HOST (the socket) and DOCKER (the client to use: Debian's 20.10 client, whose
# built-in BuildKit handles `--secret`; the v28 client in /usr/local/bin needs buildx, absent here).
# Whatever happens (success, failure, Ctrl-C), the trap removes the containers of this daemon, stops the
# daemon and the containerd it spawned by their process ids, unmounts what they left under their
# directories, and fails the run if a docker0 bridge or a network other than host/none ever appeared.
#
# Environment: NAVER_SMS_DOCKER_ROOT (default: var/docker in the repository) holds data-root/ (images,
# build cache: delete it for a cold build) and, while running, run/ (exec root, socket, pid file, logs).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BASE="${NAVER_SMS_DOCKER_ROOT:-$ROOT/var/docker}"
DATA="$BASE/data-root"
RUN="$BASE/run"
SOCK="$RUN/docker.sock"
PIDFILE="$RUN/dockerd.pid"
LOG="$BASE/dockerd.log"
DOCKERD="${DOCKERD:-/usr/sbin/dockerd}"
export DOCKER="${DOCKER:-/usr/bin/docker}"

die() { echo "with-dockerd: $*" >&2; exit 1; }
[ "$#" -gt 0 ] || die "usage: $0 COMMAND [ARGS...]"
[ -x "$DOCKERD" ] || die "$DOCKERD not found: apt-get install docker.io"
[ -x "$DOCKER" ] || die "$DOCKER not found: apt-get install docker.io"
if ip link show docker0 >/dev/null 2>&1; then
  die "a docker0 bridge exists already (another daemon?): refusing to run next to it"
fi
if [ -e "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
  die "a daemon of this directory runs already (pid $(cat "$PIDFILE")): $BASE"
fi

mkdir -p "$DATA" "$RUN"
chmod 700 "$BASE"
echo '{}' >"$RUN/daemon.json"
DOCKERD_PID=""
CONTAINERD_PID=""
COMMAND_PID=""
# Paths outside its directories that dockerd 20.10, its containerd and runc create whatever the flags say
# (the daemon's key, empty plugin and socket directories): removed afterwards unless they were there before.
SYSTEM_PATHS=(/etc/docker/key.json /run/docker /run/containerd /run/runc)
CREATED=()
for p in "${SYSTEM_PATHS[@]}"; do [ -e "$p" ] || CREATED+=("$p"); done

# Processes whose command line names our run directory: the containerd this daemon spawned and its shims.
ours() {
  local pid
  for pid in $(ls /proc | grep -E '^[0-9]+$'); do
    [ "$pid" = "$$" ] && continue
    if tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -q -- "$RUN/"; then echo "$pid"; fi
  done
}

stop_pid() {  # TERM, wait up to $2 seconds, then KILL
  local pid="$1" wait="${2:-30}" i
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < wait * 10; i++)); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  echo "with-dockerd: pid $pid did not stop in ${wait}s: killing it" >&2
  kill -KILL "$pid" 2>/dev/null || true
}

cleanup() {
  local rc=$? pid mounts bad=0
  trap - EXIT INT TERM
  if [ -n "$COMMAND_PID" ] && kill -0 "$COMMAND_PID" 2>/dev/null; then
    # interrupted: COMMAND and everything it started (its own process group) go first
    kill -TERM -- "-$COMMAND_PID" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do kill -0 "$COMMAND_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$COMMAND_PID" 2>/dev/null || true
  fi
  if [ -n "$DOCKERD_PID" ] && kill -0 "$DOCKERD_PID" 2>/dev/null; then
    # this daemon's containers only (it has no others)
    local ids
    ids="$(DOCKER_HOST="unix://$SOCK" "$DOCKER" ps -aq 2>/dev/null || true)"
    [ -z "$ids" ] || DOCKER_HOST="unix://$SOCK" "$DOCKER" rm -f $ids >/dev/null 2>&1 || true
    networks="$(DOCKER_HOST="unix://$SOCK" "$DOCKER" network ls --format '{{.Name}}' 2>/dev/null | sort | tr '\n' ' ')"
    if [ -n "$networks" ] && [ "$networks" != "host none " ]; then
      echo "with-dockerd: unexpected networks: $networks" >&2
      bad=1
    fi
    stop_pid "$DOCKERD_PID" 60
  fi
  [ -z "$CONTAINERD_PID" ] || stop_pid "$CONTAINERD_PID" 20
  for pid in $(ours); do stop_pid "$pid" 10; done
  # what the daemon left mounted under its directories (overlay layers, the netns bind mount), deepest first
  mounts="$(awk -v a="$DATA/" -v b="$RUN/" 'index($2, a) == 1 || index($2, b) == 1 { print $2 }' /proc/self/mounts | sort -r)"
  for m in $mounts; do umount "$m" 2>/dev/null || umount -l "$m" || { echo "with-dockerd: cannot unmount $m" >&2; bad=1; }; done
  if awk -v a="$DATA/" -v b="$RUN/" 'index($2, a) == 1 || index($2, b) == 1 { found = 1 } END { exit !found }' /proc/self/mounts; then
    echo "with-dockerd: mounts left under $BASE" >&2
    bad=1
  fi
  if ip link show docker0 >/dev/null 2>&1; then
    echo "with-dockerd: a docker0 bridge appeared: it must never exist here" >&2
    bad=1
  fi
  rm -rf "$RUN"
  for p in "${CREATED[@]}"; do
    if [ -d "$p" ] && [ -z "$(find "$p" ! -type d -print -quit)" ]; then rm -r "$p"; elif [ -f "$p" ]; then rm "$p"; fi
    if [ -e "$p" ]; then echo "with-dockerd: $p is left (not empty)" >&2; fi
  done
  if [ "$rc" -eq 0 ] && [ "$bad" -ne 0 ]; then rc=1; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$DOCKERD" \
  --config-file "$RUN/daemon.json" \
  --data-root "$DATA" \
  --exec-root "$RUN/exec" \
  --pidfile "$PIDFILE" \
  --host "unix://$SOCK" \
  --bridge=none --iptables=false --ip6tables=false --ip-masq=false --ip-forward=false \
  --userland-proxy=false \
  >"$LOG" 2>&1 &
DOCKERD_PID=$!

export DOCKER_HOST="unix://$SOCK"
for ((i = 0; i < 300; i++)); do
  if "$DOCKER" version >/dev/null 2>&1; then break; fi
  kill -0 "$DOCKERD_PID" 2>/dev/null || { tail -20 "$LOG" >&2; die "dockerd exited at start (log: $LOG)"; }
  sleep 0.1
done
"$DOCKER" version >/dev/null 2>&1 || { tail -20 "$LOG" >&2; die "dockerd did not answer in 30s (log: $LOG)"; }
for pid in $(ours); do
  if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = containerd ]; then CONTAINERD_PID="$pid"; fi
done
echo "with-dockerd: dockerd pid $DOCKERD_PID (containerd ${CONTAINERD_PID:-?}), storage $("$DOCKER" info --format '{{.Driver}}'), socket $SOCK" >&2
ip link show docker0 >/dev/null 2>&1 && die "a docker0 bridge appeared"

# In its own process group, waited for in the background: a signal reaches the trap at once (bash runs
# traps only between foreground commands), and the trap can stop the whole group.
setsid "$@" &
COMMAND_PID=$!
wait "$COMMAND_PID"
