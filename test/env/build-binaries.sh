#!/usr/bin/env bash
# Builds the real Kubernetes control-plane binaries ebb's integration tests run against,
# from the Go module proxy, and caches them under ~/.cache/ebb/bin/<component>-<version>/.
#
#   kube-apiserver, kube-controller-manager  from k8s.io/kubernetes (staging modules pinned to
#                                            their published v0.Y.Z, see kubernetes#79384)
#   etcd                                     from go.etcd.io/etcd/server/v3 (package main at root)
#   helm                                     from helm.sh/helm/v3/cmd/helm (go install, for deploy/)
#   gateway-api                              Gateway API's standard CRDs (config/crd/standard of
#                                            sigs.k8s.io/gateway-api), copied to
#                                            ~/.cache/ebb/crds/gateway-api-<version>/ (examples/cluster)
#
# Idempotent: a component whose binaries exist is not rebuilt. Prints how long each build took.
set -euo pipefail

K8S_VERSION="${EBB_K8S_VERSION:-v1.35.4}"
ETCD_VERSION="${EBB_ETCD_VERSION:-v3.6.16}"
HELM_VERSION="${EBB_HELM_VERSION:-v3.22.0}"
GATEWAY_API_VERSION="${EBB_GATEWAY_API_VERSION:-v1.4.1}"
CACHE="${EBB_CACHE:-$HOME/.cache/ebb}"
export GOFLAGS="-mod=mod -buildvcs=false"
export CGO_ENABLED=0
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"

log() { printf '[build-binaries] %s\n' "$*" >&2; }

build_kubernetes() {
  local out="$CACHE/bin/kubernetes-$K8S_VERSION"
  if [[ -x "$out/kube-apiserver" && -x "$out/kube-controller-manager" ]]; then
    log "kubernetes $K8S_VERSION cached in $out"
    return
  fi
  local start=$SECONDS
  local work="$CACHE/build/kubernetes-$K8S_VERSION"
  mkdir -p "$work" "$out"
  cd "$work"
  local gomod
  gomod=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",*/\1/p')
  [[ -f "$gomod" ]] || { log "cannot read go.mod of k8s.io/kubernetes@$K8S_VERSION"; exit 1; }
  local minor="${K8S_VERSION#v1.}"; minor="${minor%%.*}"
  local patch="${K8S_VERSION##*.}"
  local staging_version="v0.$minor.$patch"
  local godirective
  godirective=$(sed -n 's/^go \(.*\)$/\1/p' "$gomod" | head -1)
  {
    echo "module ebb.dev/build/kubernetes"
    echo
    echo "go $godirective"
    echo
    echo "require k8s.io/kubernetes $K8S_VERSION"
    echo
    # Every staging module (required at v0.0.0 and replaced with ./staging upstream) is pinned
    # to its published version; the list comes from the release's own go.mod.
    grep -E '^\s+k8s\.io/[a-z0-9-]+ v0\.0\.0$' "$gomod" | awk -v v="$staging_version" '{print "replace " $1 " => " $1 " " v}'
  } > go.mod
  log "building kube-apiserver and kube-controller-manager $K8S_VERSION (staging $staging_version) in $work"
  local pkg=k8s.io/component-base/version
  local ldflags="-s -w -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
  go build -trimpath -ldflags "$ldflags" -o "$out/" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager
  log "kubernetes $K8S_VERSION built in $((SECONDS - start)) s"
}

build_etcd() {
  local out="$CACHE/bin/etcd-$ETCD_VERSION"
  if [[ -x "$out/etcd" ]]; then
    log "etcd $ETCD_VERSION cached in $out"
    return
  fi
  local start=$SECONDS
  local work="$CACHE/build/etcd-$ETCD_VERSION"
  mkdir -p "$work" "$out"
  cd "$work"
  printf 'module ebb.dev/build/etcd\n\ngo 1.24\n\nrequire go.etcd.io/etcd/server/v3 %s\n' "$ETCD_VERSION" > go.mod
  log "building etcd $ETCD_VERSION in $work"
  go build -trimpath -ldflags "-s -w" -o "$out/etcd" go.etcd.io/etcd/server/v3
  log "etcd $ETCD_VERSION built in $((SECONDS - start)) s"
}

build_helm() {
  local out="$CACHE/bin/helm-$HELM_VERSION"
  if [[ -x "$out/helm" ]]; then
    log "helm $HELM_VERSION cached in $out"
    return
  fi
  local start=$SECONDS
  mkdir -p "$out"
  log "building helm $HELM_VERSION into $out"
  # Stamped as helm's Makefile does: its version, and the Kubernetes version `helm template`
  # assumes (client-go v0.Y.Z → 1.Y), read from the release's own go.mod.
  local gomod
  gomod=$(GOFLAGS=-mod=mod go mod download -json "helm.sh/helm/v3@$HELM_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",*/\1/p')
  [[ -f "$gomod" ]] || { log "cannot read go.mod of helm.sh/helm/v3@$HELM_VERSION"; exit 1; }
  local k8s_minor
  k8s_minor=$(sed -n 's/^\s*k8s\.io\/client-go v0\.\([0-9]*\)\..*/\1/p' "$gomod" | head -1)
  local ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
  ldflags+=" -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
  local pkg
  for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
    ldflags+=" -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$k8s_minor"
  done
  # `go install pkg@version` accepts no -mod flag.
  GOFLAGS=-buildvcs=false GOBIN="$out" go install -trimpath -ldflags "$ldflags" \
    "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
  log "helm $HELM_VERSION built in $((SECONDS - start)) s"
}

fetch_gateway_api() {
  local out="$CACHE/crds/gateway-api-$GATEWAY_API_VERSION"
  if compgen -G "$out/*.yaml" >/dev/null; then
    log "gateway-api $GATEWAY_API_VERSION CRDs cached in $out"
    return
  fi
  local start=$SECONDS dir
  log "fetching gateway-api $GATEWAY_API_VERSION CRDs into $out"
  dir=$(go mod download -json "sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION" | sed -n 's/.*"Dir": "\(.*\)",*/\1/p')
  [[ -d "$dir/config/crd/standard" ]] || { log "no config/crd/standard in sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION"; exit 1; }
  mkdir -p "$out.tmp"
  cp "$dir"/config/crd/standard/*.yaml "$out.tmp/"
  chmod u+w "$out.tmp"/*.yaml
  rm -rf "$out" && mv "$out.tmp" "$out"
  log "gateway-api $GATEWAY_API_VERSION CRDs fetched in $((SECONDS - start)) s"
}

case "${1:-all}" in
  etcd) build_etcd ;;
  kubernetes) build_kubernetes ;;
  helm) build_helm ;;
  gateway-api) fetch_gateway_api ;;
  all) build_etcd; build_kubernetes; build_helm; fetch_gateway_api ;;
  *) log "usage: $0 [all|etcd|kubernetes|helm|gateway-api]"; exit 2 ;;
esac
