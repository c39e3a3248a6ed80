#!/usr/bin/env bash
# Makes sure Debian's Chromium is installed for the console's browser test
# (make test-console): installs it with apt-get when missing, as root on
# Debian; says what to do otherwise. Prints the browser's path.
set -euo pipefail

for name in chromium chromium-browser; do
	if p=$(command -v "$name"); then
		echo "$p"
		exit 0
	fi
done
if [[ $(id -u) != 0 ]] || ! command -v apt-get >/dev/null; then
	echo "test-console: needs Chromium (Debian's package chromium): install it, or run this as root on Debian" >&2
	exit 1
fi
log=${CACHE:-.cache}/console-apt.log
mkdir -p "$(dirname "$log")"
echo "test-console: installing chromium (apt-get)" >&2
if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core >"$log" 2>&1; then
	DEBIAN_FRONTEND=noninteractive apt-get update -q >>"$log" 2>&1 || true
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core >>"$log" 2>&1 || {
		echo "test-console: apt-get install chromium failed; see $log" >&2
		exit 1
	}
fi
command -v chromium
