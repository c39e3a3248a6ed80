#!/usr/bin/env bash
# The reference stand-ins `make test` runs the store, queue and end-to-end
# suites against, besides the embedded emulator:
#   - DynamoDB: moto's server (PyPI, Apache-2.0), pinned in requirements.txt,
#     started by moto_server.py (which lists the few places it patches moto).
#     AWS's own DynamoDB Local is not used: it ships under AWS's own licence
#     terms, not an open-source licence, which this project does not take on.
#   - SQS: ElasticMQ (Maven Central, Apache-2.0), pinned in pom.xml; it speaks
#     the SQS JSON protocol of aws-sdk-go-v2.
# Both listen on free ports of 127.0.0.1 only.
#
# usage: infra/local/standins.sh fetch|start|stop|env|status
#   fetch   install both into .cache/standins (cached: keyed by the hash of
#           pom.xml / requirements.txt; a second run does no Maven or pip work)
#   start   fetch, start both, wait until they answer, write standins.env
#   stop    stop what start started (by the PIDs it recorded)
#   env     print `export ...` lines: eval "$(infra/local/standins.sh env)"
#   status  say whether they run
#
# STANDINS_RUN (default .cache/standins) is where one set of running stand-ins
# keeps its PIDs, logs, config and standins.env; `make test` gives each run
# its own, so runs in one work tree don't stop each other's stand-ins.
# STANDINS_TIMEOUT (default 120) bounds the wait, in seconds. STANDINS_QUIET=1
# keeps `stop` silent when it succeeds.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE=$ROOT/infra/local
CACHE=${STANDINS_CACHE:-$ROOT/.cache/standins}
RUN=${STANDINS_RUN:-$CACHE}
TIMEOUT=${STANDINS_TIMEOUT:-120}
PYTHON=${PYTHON:-python3}

EMQ_DIR=$CACHE/elasticmq
VENV=$CACHE/venv
ENV_FILE=$RUN/standins.env

say() { echo "standins: $*" >&2; }
die() {
	say "$*"
	exit 1
}
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }
key_of() { cat "$@" | sha256sum | cut -c1-16; }

need() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || die "$c not found: make test needs Java 17+, Maven, Python 3 and curl"
	done
}

fetch_elasticmq() {
	local key
	key=$(key_of "$HERE/pom.xml")
	if [[ -f $EMQ_DIR/.key && $(cat "$EMQ_DIR/.key") == "$key" ]] && compgen -G "$EMQ_DIR/lib/elasticmq-server_*.jar" >/dev/null; then
		return 0
	fi
	need mvn java
	local t0
	t0=$(now)
	say "fetching ElasticMQ with Maven (infra/local/pom.xml)"
	rm -rf "$EMQ_DIR"
	mkdir -p "$EMQ_DIR"
	if ! mvn -q -B -f "$HERE/pom.xml" dependency:copy-dependencies \
		-DoutputDirectory="$EMQ_DIR/lib" -DincludeScope=runtime >"$CACHE/fetch-elasticmq.log" 2>&1; then
		tail -n 30 "$CACHE/fetch-elasticmq.log" >&2
		die "Maven could not fetch ElasticMQ (log: $CACHE/fetch-elasticmq.log)"
	fi
	echo "$key" >"$EMQ_DIR/.key"
	say "ElasticMQ fetched in $(since "$t0")"
}

fetch_moto() {
	local key
	key=$(key_of "$HERE/requirements.txt")
	# bin/python is a link to the interpreter the venv was made with: if that
	# is gone, -x fails and the venv is made again.
	if [[ -f $VENV/.key && $(cat "$VENV/.key") == "$key" && -x $VENV/bin/python && -x $VENV/bin/moto_server ]]; then
		return 0
	fi
	need "$PYTHON"
	local t0
	t0=$(now)
	say "installing moto with pip (infra/local/requirements.txt)"
	rm -rf "$VENV"
	# A venv is not relocatable, so it is built in place; .key is written last,
	# so an interrupted install is redone next time.
	if ! { "$PYTHON" -m venv "$VENV" &&
		"$VENV/bin/pip" install -q --disable-pip-version-check --no-input \
			-r "$HERE/requirements.txt"; } >"$CACHE/fetch-moto.log" 2>&1; then
		tail -n 30 "$CACHE/fetch-moto.log" >&2
		die "pip could not install moto (log: $CACHE/fetch-moto.log)"
	fi
	echo "$key" >"$VENV/.key"
	say "moto installed in $(since "$t0")"
}

fetch() {
	local t0
	t0=$(now)
	mkdir -p "$CACHE"
	# Concurrent runs in one work tree fetch once, one after the other.
	exec 9>"$CACHE/.fetch.lock"
	flock 9
	fetch_elasticmq
	fetch_moto
	flock -u 9
	exec 9>&-
	say "fetch done in $(since "$t0")"
}

free_port() {
	"$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

alive() { [[ -f $RUN/$1.pid ]] && kill -0 "$(cat "$RUN/$1.pid")" 2>/dev/null; }

# ours NAME: the recorded PID is still the process we started (PIDs are reused).
ours() {
	local pid
	alive "$1" || return 1
	pid=$(cat "$RUN/$1.pid")
	tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$(cat "$RUN/$1.mark")"
}

# answers NAME URL: the stand-in answers a harmless list call with 200.
answers() {
	local target auth
	case $1 in
	dynamodb)
		target=DynamoDB_20120810.ListTables
		# moto routes a request to a service by the credential scope.
		auth='AWS4-HMAC-SHA256 Credential=local/20200101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0'
		;;
	elasticmq)
		target=AmazonSQS.ListQueues
		auth='AWS4-HMAC-SHA256 Credential=local/20200101/us-east-1/sqs/aws4_request, SignedHeaders=host, Signature=0'
		;;
	esac
	[[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 2 -X POST "$2/" \
		-H 'Content-Type: application/x-amz-json-1.0' -H "X-Amz-Target: $target" \
		-H "Authorization: $auth" -d '{}' 2>/dev/null) == 200 ]]
}

start() {
	need java curl flock
	# with-standins.sh has fetched already.
	[[ -n ${STANDINS_FETCHED:-} ]] || fetch
	mkdir -p "$RUN"
	if ours dynamodb && ours elasticmq && [[ -f $ENV_FILE ]]; then
		say "already running ($ENV_FILE)"
		return 0
	fi
	stop_quiet

	local t0 dport qport
	t0=$(now)
	dport=$(free_port)
	qport=$(free_port)
	while [[ $qport == "$dport" ]]; do qport=$(free_port); done

	cat >"$RUN/elasticmq.conf" <<-EOF
		include classpath("application.conf")
		node-address { protocol = http, host = "127.0.0.1", port = $qport, context-path = "" }
		generate-node-address = false
		rest-sqs { enabled = true, bind-port = $qport, bind-hostname = "127.0.0.1", sqs-limits = strict }
		rest-stats { enabled = false }
	EOF
	# Small heap, serial GC, C1 only: a short-lived test server on a 2-core machine shared with
	# the test binaries.
	java -Xms32m -Xmx384m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Dconfig.file="$RUN/elasticmq.conf" \
		-cp "$EMQ_DIR/lib/*" org.elasticmq.server.Main \
		</dev/null >"$RUN/elasticmq.log" 2>&1 &
	echo $! >"$RUN/elasticmq.pid"
	echo "$RUN/elasticmq.conf" >"$RUN/elasticmq.mark"

	"$VENV/bin/python" "$HERE/moto_server.py" -H 127.0.0.1 -p "$dport" </dev/null >"$RUN/dynamodb.log" 2>&1 &
	echo $! >"$RUN/dynamodb.pid"
	echo "$HERE/moto_server.py -H 127.0.0.1 -p $dport " >"$RUN/dynamodb.mark"

	local durl=http://127.0.0.1:$dport qurl=http://127.0.0.1:$qport name
	local deadline=$((SECONDS + TIMEOUT))
	for name in dynamodb elasticmq; do
		local url=$durl
		[[ $name == elasticmq ]] && url=$qurl
		until answers "$name" "$url"; do
			if ! alive "$name"; then
				tail -n 30 "$RUN/$name.log" >&2
				stop_quiet
				die "$name exited while starting (log: $RUN/$name.log)"
			fi
			if ((SECONDS >= deadline)); then
				tail -n 30 "$RUN/$name.log" >&2
				stop_quiet
				die "$name did not answer within ${TIMEOUT}s (log: $RUN/$name.log)"
			fi
			sleep 0.2
		done
	done

	printf 'WEBHOOKS_TEST_DYNAMODB_LOCAL=%s\nWEBHOOKS_TEST_ELASTICMQ=%s\n' "$durl" "$qurl" >"$ENV_FILE.tmp"
	mv "$ENV_FILE.tmp" "$ENV_FILE"
	say "started in $(since "$t0"): DynamoDB (moto) $durl, SQS (ElasticMQ) $qurl"
}

stop_one() {
	local name=$1 pid i
	[[ -f $RUN/$name.pid ]] || return 0
	pid=$(cat "$RUN/$name.pid")
	if ours "$name"; then
		kill -TERM "$pid" 2>/dev/null || true
		for ((i = 0; i < 50; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.2
		done
		if kill -0 "$pid" 2>/dev/null; then
			say "$name (pid $pid) ignored TERM for 10s: killing it"
			kill -KILL "$pid" 2>/dev/null || true
		fi
	fi
	rm -f "$RUN/$name.pid" "$RUN/$name.mark"
}

stop_quiet() {
	stop_one dynamodb
	stop_one elasticmq
	rm -f "$ENV_FILE"
}

stop() {
	local was=no
	{ ours dynamodb || ours elasticmq; } && was=yes
	stop_quiet
	[[ $was == yes && -z ${STANDINS_QUIET:-} ]] && say "stopped"
	return 0
}

env_cmd() {
	[[ -f $ENV_FILE ]] || die "not running: infra/local/standins.sh start"
	sed 's/^/export /' "$ENV_FILE"
}

status() {
	local name rc=0
	for name in dynamodb elasticmq; do
		if ours "$name"; then
			echo "$name: running (pid $(cat "$RUN/$name.pid"))"
		else
			echo "$name: not running"
			rc=1
		fi
	done
	[[ -f $ENV_FILE ]] && cat "$ENV_FILE"
	return $rc
}

case ${1:-} in
fetch) fetch ;;
start) start ;;
stop) stop ;;
env) env_cmd ;;
status) status ;;
*)
	sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}" >&2
	exit 2
	;;
esac
