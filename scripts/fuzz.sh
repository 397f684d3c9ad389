#!/usr/bin/env bash
# Runs every fuzz target of the module for the given time (default 4s) each.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${1:-4s}
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# coordinator_deadline says whether a failed run is Go's fuzz coordinator racing
# its own -fuzztime deadline (golang/go#75804, fixed in Go 1.27): the target's
# only complaint is "context deadline exceeded", with no failing input written
# and no panic. Such a run found nothing; it is run again, up to five times.
coordinator_deadline() {
	! grep -q 'Failing input written' "$log" &&
		! grep -q '^panic:' "$log" &&
		[ "$(grep -A1 -e '^--- FAIL: Fuzz' "$log" | sed -n 2p | tr -d '[:space:]')" = "contextdeadlineexceeded" ]
}

grep -rl --include='*_test.go' '^func Fuzz' . | sort | while read -r file; do
	pkg=./$(dirname "${file#./}")
	for target in $(grep -o '^func Fuzz[A-Za-z0-9_]*' "$file" | sed 's/^func //'); do
		echo "fuzz $pkg $target ($fuzztime)"
		for attempt in 1 2 3 4 5; do
			if go test "$pkg" -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" >"$log" 2>&1; then
				break
			fi
			if [ "$attempt" -lt 5 ] && coordinator_deadline; then
				echo "  the fuzz coordinator stopped at its own deadline with nothing found (golang/go#75804); again"
				continue
			fi
			cat "$log" >&2
			exit 1
		done
	done
done
