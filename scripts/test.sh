#!/usr/bin/env bash
# The test command (README): formatting, vet, the race-enabled test suite, then every
# fuzz target for a few seconds. Tests that need redis-server or prometheus skip on a
# laptop without them, and fail when CI is set.
set -euo pipefail
cd "$(dirname "$0")/.."

unformatted=$(gofmt -l .)
if [ -n "$unformatted" ]; then
	echo "gofmt -l reports unformatted files:" >&2
	echo "$unformatted" >&2
	exit 1
fi
go vet ./...
go test -race -count=1 -timeout 20m ./...
scripts/fuzz.sh "${FUZZTIME:-4s}"
