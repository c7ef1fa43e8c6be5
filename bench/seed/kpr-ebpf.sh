#1-setup-env.sh
#! /bin/bash
# The seed's kpr-ebpf script (section 3.3), changed only where the lab needs it; each change is
# marked "lab:". Run by bench/seed.sh with kind, helm and kubectl built from the Go module proxy.
date
set -v

# 1.prep nocNI env
# lab: the lab's node image; no containerd mirror (the seed's private registry is not here)
cat <<EOF |kind create cluster --name=cilium-kubeproxy-replacement-ebpf --image=$NODE_IMAGE  --config=-
kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
networking:
  disableDefaultCNI: true  #kind 默认使用rancher cni，我们不需要该cni
  kubeProxyMode: "none"  #不使用kube-proxy

nodes:
  - role: control-plane
  - role: worker
  - role: worker
EOF
# lab: images come from this machine, not a registry
kind load docker-image --name=cilium-kubeproxy-replacement-ebpf $LAB_IMAGES

# 2. remove taints
controller_node=`kubectl get nodes --no-headers -o custom-columns=NAME:.metadata.name |grep control-plane`
kubectl taint nodes $controller_node node-role.kubernetes.io/master:NoSchedule-
kubectl get nodes -owide

# 3.  install cni
# lab: the local 1.20 chart instead of helm repo add/update and cilium/cilium 1.13.0-rc5; 1.20
# spells tunnel=disabled as routingMode=native and strict as true, and refuses a cluster name
# over 32 characters; the lab's image names and values (no Envoy, no Hubble)
helm  install cilium  $CILIUM_CHART --set k8sServiceHost=$controller_node --set k8sServicePort=6443 --namespace kube-system --set dubug.enabled=true --set dubug.verbose=datapath --set monitorAggregation=none --set ipam.mode=cluster-pool --set cluster.name=cilium-kubeproxy-replacement-ebp --set kubeProxyReplacement=true --set routingMode=native --set autoDirectNodeRoutes=true --set ipv4NativeRoutingCIDR="10.0.0.0/8" --set bpf.masquerade=true \
  --set image.repository=kindlab/cilium --set image.tag=v1.20.0 --set image.useDigest=false --set image.pullPolicy=Never \
  --set operator.image.repository=kindlab/cilium-operator --set operator.image.tag=v1.20.0 --set operator.image.useDigest=false --set operator.image.pullPolicy=Never \
  --set operator.replicas=1 --set l7Proxy=false --set envoy.enabled=false --set hubble.enabled=false

#4. install necessary tools
for i in $(docker ps -a --format "table {{.Names}}" |grep cilium-kubeproxy-replacement-ebpf)
do
                echo $i
                #docker cp ./bridge $i:/opt/cni/bin/
                docker cp /usr/bin/ping $i:/usr/bin/ping
                # lab: -i, not -it: no terminal in a benchmark
                docker exec -i $i bash -c "sed -i -e  's/jp.archive.ubuntu.com\|archive.ubuntu.com\|security.ubuntu.com/old-releases.ubuntu.com/g' /etc/apt/sources.list"
                docker exec -i $i bash -c "apt-get -y update > /dev/null && apt-get -y install net-tools tcpdump lrzsz > /dev/null 2>&1"
done
