#!/usr/bin/env bash
# Stage 2 of the offline lab: Cilium's images, built on this machine from the Go module proxy
# and Debian's archive, so that the three mode playbooks run end to end with nothing pulled.
#   kindlab/cilium:vVERSION                   the agent: Cilium's programs and BPF sources on a
#                                             Debian root filesystem with clang-19, which the
#                                             agent compiles its BPF programs with at run time
#   kindlab/cilium-operator-generic:vVERSION  the operator (chart: operator.image.repository
#                                             kindlab/cilium-operator, it appends -generic)
#   kindlab/busybox:lab                       the playbooks' demo (httpd, ping, hostname)
# Each is also tagged with a hash of the lab's files, and a machine that has those tags builds
# nothing. The programs (cilium-bins.sh) and the root filesystem (rootfs.sh) are cached on disk.
# Needs a running dockerd (hack/testenv.sh up starts one).
#
# Usage: hack/lab/cilium-build.sh   prints the three image names, one per line
# Env:   CILIUM_VERSION (default 1.20.0: the version that runs on these machines' kernel;
#        1.13's agent needs /proc/modules, which a kernel without modules lacks)
#        CILIUM_AGENT_FULL=1: the agent with its whole Debian root filesystem, as
#        kindlab/cilium:vVERSION-full (bench/images.sh measures what leaving things out gives)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
CILIUM_VERSION=${CILIUM_VERSION:-1.20.0}
version=v${CILIUM_VERSION#v}
log() { printf 'lab cilium: %s\n' "$*" >&2; }

agent=kindlab/cilium:$version
[[ ${CILIUM_AGENT_FULL:-0} == 1 ]] && agent=$agent-full
operator=kindlab/cilium-operator-generic:$version
demo=kindlab/busybox:lab
inputs_hash=$(cat "$here/cilium-build.sh" "$here/cilium-bins.sh" "$here/rootfs.sh" | sha256sum | cut -c1-12)
images=("$agent" "$operator" "$demo")

have_all=1
for image in "${images[@]}"; do
  docker image inspect "$image-$inputs_hash" >/dev/null 2>&1 || have_all=0
done
if [[ $have_all == 1 ]]; then
  for image in "${images[@]}"; do docker tag "$image-$inputs_hash" "$image"; done
  printf '%s\n' "${images[@]}"
  exit 0
fi

# What the chart runs in the agent's image besides Cilium's own programs: bash and nsenter
# (the init containers), mount, ip, iptables (nft, as the lab's nodes and kube-proxy use) and
# ipset (the agent), iptables-save/restore (the postStart hook), and clang-19: the agent
# compiles its BPF programs at run time, needs clang >= 18.1, and 19.1.7 is what upstream pins.
agent_packages=(
  bash coreutils util-linux mount iproute2 iptables ipset kmod procps
  ca-certificates libatomic1 clang-19
)

started=$SECONDS
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The two downloads and builds are independent: the programs take minutes of CPU, the root
# filesystem minutes of network, so they run side by side.
bash "$here/rootfs.sh" cilium-agent "${agent_packages[@]}" > "$work/rootfs" &
rootfs_pid=$!
bins=$(bash "$here/cilium-bins.sh" "$version")
wait "$rootfs_pid" || { log "the agent's root filesystem failed"; exit 1; }
rootfs=$(cat "$work/rootfs")
log "programs and root filesystem ready after $((SECONDS - started)) s"

# image_from_dir NAME DIR BASE [DOCKERFILE LINE...]: one image of DIR's tree on top of BASE
# (scratch, or an imported image), with the legacy builder: no registry is asked for anything.
image_from_dir() {
  local name=$1 dir=$2 base=$3
  shift 3
  rm -rf "$work/ctx"
  mkdir -p "$work/ctx"
  mv "$dir" "$work/ctx/tree"
  printf '%s\n' "FROM $base" "$@" 'COPY tree/ /' > "$work/ctx/Dockerfile"
  DOCKER_BUILDKIT=0 docker build -q -t "$name-$inputs_hash" "$work/ctx" >/dev/null 2>"$work/build.log" || {
    cat "$work/build.log" >&2
    exit 1
  }
  docker tag "$name-$inputs_hash" "$name"
  log "$name: $(docker image inspect -f '{{.Size}}' "$name" | numfmt --to=iec)"
}

minimal_etc() {
  mkdir -p "$1/etc" "$1/tmp"
  chmod 1777 "$1/tmp"
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n' > "$1/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\n' > "$1/etc/group"
}

# What the agent never uses, left out of its image (187 of the root filesystem's 545 MB): it
# compiles its BPF programs with `clang -nostdinc --target=bpf -c`, so no C library headers,
# GCC, linker, static library or sanitizer runtime; clang links libclang-cpp and libLLVM, not
# libclang's C API; and no one reads the documentation, manual pages or translations in a
# node. CILIUM_AGENT_FULL=1 keeps them (kindlab/cilium:vVERSION-full), for bench/images.sh.
unused_by_the_agent=(
  './usr/share/locale/*' './usr/share/doc/*' './usr/share/man/*' './usr/share/info/*'
  './usr/include/*' './usr/lib/gcc/*' './usr/bin/x86_64-linux-gnu-*'
  './usr/lib/x86_64-linux-gnu/*.a' './usr/lib/x86_64-linux-gnu/lib*san.so*'
  './usr/lib/x86_64-linux-gnu/libclang-19.so*' './usr/lib/x86_64-linux-gnu/libgprofng*'
  './usr/lib/x86_64-linux-gnu/libbfd*' './usr/lib/x86_64-linux-gnu/libctf*'
  './usr/lib/x86_64-linux-gnu/libopcodes*' './usr/lib/x86_64-linux-gnu/libsframe*'
)
if [[ ${CILIUM_AGENT_FULL:-0} != 1 ]]; then
  slim=${rootfs%.tar}-slim.tar
  if [[ ! -f $slim ]]; then
    cp "$rootfs" "$slim.part"
    tar --wildcards --delete -f "$slim.part" "${unused_by_the_agent[@]}"
    mv "$slim.part" "$slim"
  fi
  rootfs=$slim
fi

# The agent: the Debian root filesystem as one imported layer (shared by every rebuild), then
# Cilium's files where its own Dockerfile puts them.
base=kindlab/cilium-base:$(basename "$rootfs" .tar)
if ! docker image inspect "$base" >/dev/null 2>&1; then
  log "importing the root filesystem as $base"
  docker import "$rootfs" "$base" >/dev/null
fi
tree=$work/agent
mkdir -p "$tree/usr/bin" "$tree/opt/cni/bin" "$tree/var/lib/cilium" "$tree/home/cilium"
cp "$bins"/cilium-{agent,dbg,health-responder,mount,sysctlfix} "$tree/usr/bin/"
ln -s cilium-dbg "$tree/usr/bin/cilium"
cp "$bins/cilium-cni" "$tree/opt/cni/bin/"
cp -r "$bins/bpf" "$tree/var/lib/cilium/bpf"
install -m 0755 "$bins"/{init-container.sh,install-plugin.sh,cni-uninstall.sh} "$tree/"
# The agent runs `clang`; Debian installs it versioned.
ln -s clang-19 "$tree/usr/bin/clang"
image_from_dir "$agent" "$tree" "$base" \
  'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin INITSYSTEM=SYSTEMD' \
  'WORKDIR /home/cilium' 'CMD ["/usr/bin/cilium-dbg"]'

# The operator: one static program and the CA certificates it trusts the API server with.
tree=$work/operator
minimal_etc "$tree"
mkdir -p "$tree/usr/bin" "$tree/etc/ssl/certs"
cp "$bins/cilium-operator-generic" "$tree/usr/bin/"
tar -xf "$rootfs" --to-stdout ./etc/ssl/certs/ca-certificates.crt > "$tree/etc/ssl/certs/ca-certificates.crt"
image_from_dir "$operator" "$tree" scratch 'ENV PATH=/usr/bin' 'ENTRYPOINT ["/usr/bin/cilium-operator-generic"]'

# The demo: Debian's static busybox with its applet links.
command -v busybox >/dev/null || [[ -x /bin/busybox ]] || {
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=600 busybox-static >&2
}
tree=$work/demo
minimal_etc "$tree"
mkdir -p "$tree/bin"
cp /bin/busybox "$tree/bin/busybox"
for applet in $("$tree/bin/busybox" --list); do
  [[ -e $tree/bin/$applet ]] || ln -s busybox "$tree/bin/$applet"
done
image_from_dir "$demo" "$tree" scratch 'ENV PATH=/bin' 'CMD ["/bin/sh"]'

log "images built in $((SECONDS - started)) s"
printf '%s\n' "${images[@]}"
