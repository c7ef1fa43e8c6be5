#!/usr/bin/env bash
# Real test servers for the project's tests, on a fresh machine or a developer's:
#   up      install the tools the tests drive (tmux, curl), start what is not answering
#           (Docker engine, etcd + kube-apiserver) and print
#           `export` lines to eval; logs go to stderr
#   down    stop only what `up` started
#   status  say what is running
# State (pids, certificates, kubeconfig, logs): $PLAYBOOK_TESTENV_DIR, default /tmp/kindlab-testenv.
# Binaries are cached by version under ${XDG_CACHE_HOME:-~/.cache}/kindlab-testenv (hack/kube-build.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
state=${PLAYBOOK_TESTENV_DIR:-/tmp/kindlab-testenv}
mkdir -p "$state"
# shellcheck source=hack/testenv-docker.sh
source "$here/testenv-docker.sh"
# shellcheck source=hack/testenv-kube.sh
source "$here/testenv-kube.sh"

log() { printf 'testenv: %s\n' "$*" >&2; }

# started NAME: whether `up` started NAME (its pid file exists and the process lives).
started() { [[ -f $state/$1.pid ]] && kill -0 "$(cat "$state/$1.pid")" 2>/dev/null; }

# stop_started NAME [SECONDS]: stop what `up` started, giving it SECONDS (default 10) to exit
# cleanly before SIGKILL.
stop_started() {
  local name=$1 grace=${2:-10} pid
  [[ -f $state/$name.pid ]] || return 0
  pid=$(cat "$state/$name.pid")
  if kill -0 "$pid" 2>/dev/null; then
    log "stopping $name (pid $pid)"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq $((grace * 5))); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$state/$name.pid"
}

case ${1:-} in
  up)
    # Tools the tests drive: tmux (the live view in a real terminal), curl (the playbooks'
    # NodePort check and the docs' port-forward example), chromium (the HTML report, in a
    # real browser).
    apt_install tmux curl chromium
    docker_up
    kube_up
    ;;
  down)
    kube_down
    docker_down
    ;;
  status)
    docker_status
    kube_status
    ;;
  *)
    echo "usage: $0 up|down|status" >&2
    exit 2
    ;;
esac
