#!/usr/bin/env bash
# Runs every fuzz target of the module for the given time (default 4s) each.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${1:-4s}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
grep -rl --include='*_test.go' '^func Fuzz' . | sort | while read -r file; do
	pkg=./$(dirname "${file#./}")
	for target in $(grep -o '^func Fuzz[A-Za-z0-9_]*' "$file" | sed 's/^func //'); do
		echo "fuzz $pkg $target ($fuzztime)"
		go test "$pkg" -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" >"$log" 2>&1 || {
			cat "$log" >&2
			exit 1
		}
	done
done
