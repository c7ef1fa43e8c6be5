# shellcheck shell=bash disable=SC2154 # state and here come from testenv.sh
# Docker engine for tests; sourced by testenv.sh.
# Facts behind it: ../shared/notes/test-machines.md (Debian's docker.io, runc refusing
# privileged containers where CAP_SYS_RESOURCE is missing, images made without a registry).

TEST_IMAGE=${PLAYBOOK_TEST_IMAGE:-kindlab/busybox:test}

docker_answers() { timeout 10 docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  log "installing ${missing[*]}"
  if [[ ! -f $state/apt-updated ]]; then
    apt-get update -qq -o DPkg::Lock::Timeout=600 >&2 && touch "$state/apt-updated"
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    -o DPkg::Lock::Timeout=600 "${missing[@]}" >&2
}

# The bounding set lacks CAP_SYS_RESOURCE (bit 24) on these machines; runc then refuses
# privileged containers, which kind's nodes are.
lacks_sys_resource() {
  local bnd
  bnd=$(awk '/^CapBnd/ {print $2}' /proc/self/status)
  (( (16#$bnd >> 24 & 1) == 0 ))
}

install_runtime_wrapper() {
  local wrapper=/usr/local/libexec/kindlab-runc
  mkdir -p "$(dirname "$wrapper")" /etc/docker
  install -m 0755 "$here/kindlab-runc.sh" "$wrapper"
  # Merge into an existing daemon.json: a developer's own settings stay.
  local cfg=/etc/docker/daemon.json
  [[ -s $cfg ]] || echo '{}' > "$cfg"
  jq --arg w "$wrapper" '.runtimes["kindlab-runc"] = {path: $w} | .["default-runtime"] = "kindlab-runc"' "$cfg" > "$cfg.tmp"
  mv "$cfg.tmp" "$cfg"
}

docker_up() {
  if ! docker_answers; then
    command -v dockerd >/dev/null || apt_install docker.io
    apt_install busybox-static jq
    lacks_sys_resource && install_runtime_wrapper
    # A dockerd that was killed leaves its pid file, and the next one refuses to start.
    if [[ -f /var/run/docker.pid ]] && ! kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then
      rm -f /var/run/docker.pid
    fi
    log "starting dockerd"
    dockerd >"$state/dockerd.log" 2>&1 &
    echo $! > "$state/dockerd.pid"
    for _ in $(seq 120); do docker_answers && break; sleep 0.5; done
    docker_answers || { log "dockerd did not answer; see $state/dockerd.log"; tail -20 "$state/dockerd.log" >&2; exit 1; }
    log "dockerd $(docker version --format '{{.Server.Version}}') is up"
  fi
  ensure_test_image
  [[ -n ${DOCKER_HOST:-} ]] && echo "export DOCKER_HOST=$DOCKER_HOST"
  echo "export PLAYBOOK_TEST_IMAGE=$TEST_IMAGE"
}

# ensure_test_image imports a busybox image from Debian's busybox-static: no registry needed.
ensure_test_image() {
  docker image inspect "$TEST_IMAGE" >/dev/null 2>&1 && return 0
  apt_install busybox-static
  local root
  root=$(mktemp -d)
  mkdir -p "$root/bin" "$root/tmp" "$root/etc"
  cp /bin/busybox "$root/bin/busybox"
  for applet in $("$root/bin/busybox" --list); do
    [[ -e $root/bin/$applet ]] || ln -s busybox "$root/bin/$applet"
  done
  echo 'root:x:0:0:root:/root:/bin/sh' > "$root/etc/passwd"
  echo 'nobody:x:65534:65534:nobody:/:/bin/sh' >> "$root/etc/passwd"
  tar -C "$root" -c . | docker import -c 'CMD ["/bin/sh"]' - "$TEST_IMAGE" >/dev/null
  rm -rf "$root"
  log "imported $TEST_IMAGE"
}

docker_down() {
  started dockerd || { rm -f "$state/dockerd.pid"; return 0; }
  # dockerd stops running containers first, waiting for each; a busybox sleep as PID 1
  # ignores SIGTERM, so give it time rather than kill it and leave its pid file behind.
  stop_started dockerd 40
}

docker_status() {
  if docker_answers; then
    local who="already running"
    started dockerd && who="started by testenv, pid $(cat "$state/dockerd.pid")"
    echo "docker: $(docker version --format '{{.Server.Version}}') ($who)"
  else
    echo "docker: not running"
  fi
}
