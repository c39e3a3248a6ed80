#!/usr/bin/env bash
# usage: infra/local/with-standins.sh COMMAND [ARG...]
# Runs COMMAND with its own freshly started reference stand-ins (see
# standins.sh) and their WEBHOOKS_TEST_* variables in its environment, and
# stops them afterwards whatever happens: success, failure or interrupt.
# Their logs are kept in .cache/standins/run.* when COMMAND fails.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
STANDINS=$ROOT/infra/local/standins.sh
CACHE=${STANDINS_CACHE:-$ROOT/.cache/standins}

[[ $# -gt 0 ]] || {
	echo "usage: $0 COMMAND [ARG...]" >&2
	exit 2
}

"$STANDINS" fetch
export STANDINS_FETCHED=1
mkdir -p "$CACHE"
STANDINS_RUN=$(mktemp -d "$CACHE/run.XXXXXX")
export STANDINS_RUN

finish() {
	local rc=$?
	trap - EXIT INT TERM
	# Quiet, so that on success the command's own last line (make test's
	# closing count) stays the last line of the output.
	STANDINS_QUIET=1 "$STANDINS" stop || rc=1
	if ((rc == 0)); then
		rm -rf "$STANDINS_RUN"
	else
		echo "standins: logs kept in $STANDINS_RUN" >&2
	fi
	exit "$rc"
}
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$STANDINS" start
set -a
# shellcheck source=/dev/null
. "$STANDINS_RUN/standins.env"
set +a

"$@"
