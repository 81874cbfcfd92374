#!/usr/bin/env bash
# KEDA's CRDs (ScaledObject, TriggerAuthentication, ClusterTriggerAuthentication) from its Go
# module, for test/integration/migration.test.ts. The module zip comes from the Go module proxy
# into the module cache; `go mod download` then complains that the module needs a newer Go, which
# does not matter: the zip is there. Cached under ~/.cache/ebb/keda-crds-<version>/ (idempotent).
set -euo pipefail
VERSION="${EBB_KEDA_VERSION:-v2.21.1}"
CACHE="${EBB_CACHE:-$HOME/.cache/ebb}"
DEST="$CACHE/keda-crds-$VERSION"
FILES=(keda.sh_scaledobjects.yaml keda.sh_triggerauthentications.yaml keda.sh_clustertriggerauthentications.yaml)
done_already=1
for f in "${FILES[@]}"; do [[ -s "$DEST/$f" ]] || done_already=0; done
if [[ $done_already == 1 ]]; then echo "$DEST"; exit 0; fi
ZIP="$(go env GOMODCACHE)/cache/download/github.com/kedacore/keda/v2/@v/$VERSION.zip"
if [[ ! -s "$ZIP" ]]; then
  (cd "$(mktemp -d)" && GOFLAGS=-mod=mod go mod download -json "github.com/kedacore/keda/v2@$VERSION" >/dev/null 2>&1 || true)
fi
if [[ ! -s "$ZIP" ]]; then
  PROXY="$(go env GOPROXY | cut -d, -f1)"
  mkdir -p "$(dirname "$ZIP")"
  curl -fsSL "$PROXY/github.com/kedacore/keda/v2/@v/$VERSION.zip" -o "$ZIP.tmp" && mv "$ZIP.tmp" "$ZIP"
fi
mkdir -p "$DEST.tmp"
for f in "${FILES[@]}"; do
  unzip -p "$ZIP" "github.com/kedacore/keda/v2@$VERSION/config/crd/bases/$f" > "$DEST.tmp/$f"
done
rm -rf "$DEST" && mv "$DEST.tmp" "$DEST"
echo "$DEST"
