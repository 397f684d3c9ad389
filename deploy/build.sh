#!/usr/bin/env bash
# Builds bin/switchyard exactly as deploy/Dockerfile's build stage does, for machines
# without a container engine (and for CI, which proves the Dockerfile's command works).
#
#   deploy/build.sh                      # VERSION from git describe, bin/switchyard
#   VERSION=v1.2.3 OUT=/tmp/x deploy/build.sh
#   TARGETOS=linux TARGETARCH=arm64 deploy/build.sh
#
# The command between the markers below is the Dockerfile's `RUN ... go build` line,
# word for word but for the output path: deploy/image_test.go compares the two.
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
TARGETOS=${TARGETOS:-$(go env GOOS)}
TARGETARCH=${TARGETARCH:-$(go env GOARCH)}
OUT=${OUT:-bin}
mkdir -p "$OUT"

# build-command:begin
CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -buildvcs=false -ldflags "-s -w -X main.Version=$VERSION" -o "$OUT/switchyard" ./cmd/switchyard
# build-command:end

echo "built $OUT/switchyard ($VERSION, $TARGETOS/$TARGETARCH)"
