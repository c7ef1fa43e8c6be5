# shellcheck shell=bash disable=SC2154 # state and here come from testenv.sh
# etcd + kube-apiserver on loopback for tests (envtest-style, no kubelet); sourced by
# testenv.sh. Binaries come from hack/kube-build.sh, built once per version and cached.

kube_kubeconfig=$state/kubeconfig

kube_ready() {
  [[ -f $state/apiserver.port ]] || return 1
  curl -sf --max-time 3 --cacert "$state/pki/ca.crt" --cert "$state/pki/admin.crt" --key "$state/pki/admin.key" \
    "https://127.0.0.1:$(cat "$state/apiserver.port")/readyz" >/dev/null 2>&1
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

make_pki() {
  local pki=$state/pki
  [[ -f $pki/admin.crt ]] && return 0
  mkdir -p "$pki"
  (
    cd "$pki"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj /CN=kindlab-testenv-ca -keyout ca.key -out ca.crt 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj /CN=kube-apiserver -keyout serving.key -out serving.csr 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc\n' > serving.ext
    openssl x509 -req -in serving.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 -extfile serving.ext -out serving.crt 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/O=system:masters/CN=playbook-test-admin" -keyout admin.key -out admin.csr 2>/dev/null
    openssl x509 -req -in admin.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 -out admin.crt 2>/dev/null
    openssl genrsa -out sa.key 2048 2>/dev/null
    openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
  )
}

write_kubeconfig() {
  local port=$1
  cat > "$kube_kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters:
- name: testenv
  cluster:
    server: https://127.0.0.1:$port
    certificate-authority: $state/pki/ca.crt
users:
- name: admin
  user:
    client-certificate: $state/pki/admin.crt
    client-key: $state/pki/admin.key
contexts:
- name: testenv
  context: {cluster: testenv, user: admin}
current-context: testenv
KC
}

kube_up() {
  local bin
  bin=$(bash "$here/kube-build.sh")
  if ! kube_ready; then
    apt_install openssl curl
    make_pki
    stop_started apiserver
    stop_started etcd
    local etcd_port peer_port api_port
    etcd_port=$(free_port) peer_port=$(free_port) api_port=$(free_port)
    rm -rf "$state/etcd-data"
    log "starting etcd on 127.0.0.1:$etcd_port"
    "$bin/etcd" --data-dir "$state/etcd-data" --unsafe-no-fsync \
      --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
      --listen-peer-urls "http://127.0.0.1:$peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
      --initial-cluster "default=http://127.0.0.1:$peer_port" >"$state/etcd.log" 2>&1 &
    echo $! > "$state/etcd.pid"
    log "starting kube-apiserver $("$bin/kube-apiserver" --version | cut -d" " -f2) on 127.0.0.1:$api_port"
    "$bin/kube-apiserver" --etcd-servers "http://127.0.0.1:$etcd_port" \
      --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$api_port" \
      --tls-cert-file "$state/pki/serving.crt" --tls-private-key-file "$state/pki/serving.key" \
      --client-ca-file "$state/pki/ca.crt" \
      --service-account-issuer https://kubernetes.default.svc --service-account-key-file "$state/pki/sa.pub" \
      --service-account-signing-key-file "$state/pki/sa.key" \
      --authorization-mode RBAC --disable-admission-plugins ServiceAccount \
      --service-cluster-ip-range 10.0.0.0/24 --allow-privileged=true \
      --endpoint-reconciler-type none >"$state/apiserver.log" 2>&1 &
    echo $! > "$state/apiserver.pid"
    echo "$api_port" > "$state/apiserver.port"
    write_kubeconfig "$api_port"
    for _ in $(seq 120); do kube_ready && break; sleep 0.5; done
    kube_ready || { log "kube-apiserver not ready; see $state/apiserver.log"; tail -20 "$state/apiserver.log" >&2; exit 1; }
    log "kube-apiserver is ready"
  fi
  echo "export KUBECONFIG=$kube_kubeconfig"
  echo "export KUBEBUILDER_ASSETS=$bin"
  echo "export PLAYBOOK_TESTENV_KUBE_VERSION=$("$bin/kube-apiserver" --version | cut -d" " -f2)"
}

kube_down() {
  stop_started apiserver
  stop_started etcd
  rm -f "$state/apiserver.port"
}

kube_status() {
  if kube_ready; then
    echo "kube-apiserver: ready on 127.0.0.1:$(cat "$state/apiserver.port") (pid $(cat "$state/apiserver.pid" 2>/dev/null || echo ?)), kubeconfig $kube_kubeconfig"
  else
    echo "kube-apiserver: not running"
  fi
}
