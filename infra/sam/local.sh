#!/usr/bin/env bash
# SAM CLI's local commands (sam local invoke / start-api / start-lambda)
# against the local AWS emulator (`local -emulator`), with the pinned SAM CLI
# of sam.sh.
#
#   infra/sam/local.sh setup           make Docker usable for sam local: the daemon, arm64
#                                      emulation on other machines, the base image
#   infra/sam/local.sh host            the address SAM's containers reach this machine at
#   infra/sam/local.sh build           sam build, then the template sam local runs
#   infra/sam/local.sh invoke FN EVENT [SAM-ARGS...]
#                                      sam local invoke against a running emulator
#                                      (EMULATOR_HOST=$(infra/sam/local.sh host) make emulator)
#   infra/sam/local.sh api             make sam-api: emulator, start-lambda, start-api
#   infra/sam/local.sh test            make test-sam-local: setup, build, then the
#                                      samlocal Go tests (infra/sam/samlocal_test.go)
#
# Needs root (or a running Docker) on a machine without Docker: setup installs
# Debian's docker.io and qemu-user-static with apt-get and starts dockerd.
# Whatever a command starts (dockerd, the emulator, SAM's servers, their
# containers) it stops when it ends.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE="$ROOT/infra/sam"
SAM_SH="$HERE/sam.sh"
STATE="$ROOT/.cache/sam-local"
BUILD="$ROOT/.aws-sam/build"
# The template sam local runs: the built one, with the emulator's endpoint
# variables declared (localtemplate.py).
LOCAL_TEMPLATE="$BUILD/template.local.yaml"
ENV_VARS="${SAM_ENV_VARS:-$ROOT/.cache/sam/env.json}"
# The base image of provided.al2023 on arm64, as SAM CLI names it.
BASE_IMAGE=public.ecr.aws/lambda/provided:al2023-arm64
STANDIN_LABEL=io.webhooks.stand-in
# internal/config's endpoint variables: the deployed template must not have
# them (template_test.go), sam local needs them declared.
ENDPOINT_VARS=(DYNAMODB_ENDPOINT SQS_ENDPOINT KMS_ENDPOINT EVENTBRIDGE_ENDPOINT)

EMULATOR_PORT="${EMULATOR_PORT:-4566}"
SAM_API_PORT="${SAM_API_PORT:-3001}"
SAM_LAMBDA_PORT="${SAM_LAMBDA_PORT:-3002}"

log() { echo "sam local: $*" >&2; }
die() {
	log "$*"
	exit 1
}

# ---------------------------------------------------------------- cleanup
# Everything started here is recorded and stopped by cleanup, on any exit.
started_pids=()    # our background processes, each its own process group (set -m)
started_dockerd="" # pid of the dockerd we started
containers_before="" # SAM's containers that were there before we started
fail_tally=""      # a tally file to count a failure in if we exit early

cleanup() {
	local rc=$? pid id
	trap - EXIT INT TERM
	if [[ -n "$fail_tally" && $rc != 0 ]]; then
		echo "0 1 0" >>"$fail_tally"
	fi
	# SIGINT as Ctrl-C would (SAM stops its warm containers, the emulator
	# saves), then SIGTERM, then SIGKILL, to each whole process group.
	for pid in "${started_pids[@]}"; do
		kill -INT -- "-$pid" 2>/dev/null || true
	done
	for pid in "${started_pids[@]}"; do
		wait_gone "$pid" 20 || kill -TERM -- "-$pid" 2>/dev/null || true
		wait_gone "$pid" 10 || kill -KILL -- "-$pid" 2>/dev/null || true
	done
	if docker info >/dev/null 2>&1; then
		for id in $(docker ps -aq --filter label=sam.cli.container.type=lambda 2>/dev/null); do
			if ! grep -qx "$id" <<<"$containers_before"; then
				log "removing container $id left by sam local"
				docker rm -f "$id" >/dev/null 2>&1 || true
			fi
		done
	fi
	if [[ -n "$started_dockerd" ]]; then
		log "stopping the dockerd it started (pid $started_dockerd)"
		kill -TERM "$started_dockerd" 2>/dev/null || true
		wait_gone "$started_dockerd" 30 || kill -KILL "$started_dockerd" 2>/dev/null || true
	fi
	exit "$rc"
}

# wait_gone PID SECONDS: true once PID has exited.
wait_gone() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	! kill -0 "$1" 2>/dev/null
}

on_exit() {
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

# ---------------------------------------------------------------- setup
# apt_install PKG...: installs Debian packages, as root with no prompts.
apt_install() {
	if [[ $(id -u) != 0 ]] || ! command -v apt-get >/dev/null; then
		die "needs $* (Debian packages): install them, or run this as root on Debian/Ubuntu"
	fi
	log "installing $* (apt-get)"
	if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >"$STATE/apt.log" 2>&1; then
		DEBIAN_FRONTEND=noninteractive apt-get update -q >>"$STATE/apt.log" 2>&1 || true
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >>"$STATE/apt.log" 2>&1 ||
			die "apt-get install $* failed; see $STATE/apt.log"
	fi
}

# docker_up: a Docker daemon answers, started here (and stopped by cleanup)
# if none ran.
docker_up() {
	if docker info >/dev/null 2>&1; then
		return 0
	fi
	if ! command -v dockerd >/dev/null; then
		apt_install docker.io
	fi
	if docker info >/dev/null 2>&1; then
		return 0 # the package's service started it
	fi
	[[ $(id -u) == 0 ]] || die "no Docker daemon answers, and only root can start one here"
	log "starting dockerd (log: $STATE/dockerd.log)"
	setsid dockerd --host unix:///var/run/docker.sock --userland-proxy=false --pidfile "$STATE/dockerd.pid" >"$STATE/dockerd.log" 2>&1 </dev/null &
	started_dockerd=$!
	local i
	for ((i = 0; i < 600; i++)); do
		docker info >/dev/null 2>&1 && return 0
		kill -0 "$started_dockerd" 2>/dev/null || break
		sleep 0.1
	done
	tail -20 "$STATE/dockerd.log" >&2 || true
	die "dockerd did not come up"
}

# arm64_up: this machine runs linux/arm64 containers (natively, or through
# QEMU registered with binfmt_misc).
arm64_up() {
	case "$(uname -m)" in aarch64 | arm64) return 0 ;; esac
	[[ "$(uname -s)" == Linux ]] || return 0 # Docker Desktop emulates arm64 itself
	local bm=/proc/sys/fs/binfmt_misc
	if [[ "$(head -1 "$bm/qemu-aarch64" 2>/dev/null)" == enabled ]]; then
		return 0
	fi
	if [[ ! -f /usr/lib/binfmt.d/qemu-aarch64.conf ]]; then
		apt_install qemu-user-static
	fi
	[[ $(id -u) == 0 ]] || die "arm64 emulation is not registered (binfmt_misc), and only root can register it"
	if [[ ! -e "$bm/register" ]]; then
		mount -t binfmt_misc binfmt_misc "$bm" || die "cannot mount binfmt_misc on $bm"
	fi
	if [[ ! -e "$bm/qemu-aarch64" ]]; then
		# The package's own registration (interpreter, magic, flags "F":
		# the interpreter is opened now, so containers need no copy).
		cat /usr/lib/binfmt.d/qemu-aarch64.conf >"$bm/register" || die "cannot register qemu-aarch64 with binfmt_misc"
	fi
	echo 1 >"$bm/qemu-aarch64"
	log "arm64 emulation: $(grep interpreter "$bm/qemu-aarch64")"
}

# registry_reachable: AWS's public registry answers (any HTTP status) within
# a few seconds: then pulling cannot hang on an unreachable network.
registry_reachable() {
	local code
	code=$(curl -sS -m 5 -o /dev/null -w '%{http_code}' https://public.ecr.aws/v2/ 2>/dev/null) || return 1
	[[ "$code" != 000 ]]
}

# base_image_up: BASE_IMAGE is there, pulled from AWS when the registry can
# be reached, else a stand-in built here; says which.
base_image_up() {
	if registry_reachable; then
		log "pulling $BASE_IMAGE"
		if timeout 600 docker pull -q --platform linux/arm64 "$BASE_IMAGE" >/dev/null; then
			log "base image: $BASE_IMAGE, AWS's, pulled from public.ecr.aws"
			return 0
		fi
		log "pull failed"
	fi
	if docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
		if [[ -n "$(docker image inspect -f "{{index .Config.Labels \"$STANDIN_LABEL\"}}" "$BASE_IMAGE")" ]]; then
			log "base image: $BASE_IMAGE, a stand-in built here earlier ($(docker image inspect -f "{{index .Config.Labels \"$STANDIN_LABEL\"}}" "$BASE_IMAGE")); public.ecr.aws cannot be reached"
		else
			log "base image: $BASE_IMAGE, AWS's, pulled earlier"
		fi
		return 0
	fi
	build_standin
}

# build_standin tags a tiny linux/arm64 image as BASE_IMAGE: Debian's static
# busybox, enough for the RUN steps of the image SAM builds over it (SAM adds
# its runtime interface emulator; the function's bootstrap is mounted). The
# .deb is fetched with apt into .cache only, leaving the system's apt state
# (architectures, lists) as it was.
build_standin() {
	local apt="$STATE/apt-arm64" ctx="$STATE/standin" deb
	deb=$(ls "$apt"/debs/busybox-static_*_arm64.deb 2>/dev/null | head -1 || true)
	if [[ -z "$deb" ]]; then
		command -v apt-get >/dev/null || die "public.ecr.aws cannot be reached and there is no apt-get to build a stand-in for $BASE_IMAGE"
		log "fetching Debian's busybox-static for arm64 (apt, into $apt)"
		mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/debs"
		local opts=(-q -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache"
			-o APT::Architecture=arm64 -o "APT::Architectures::=arm64" -o APT::Sandbox::User=root)
		apt-get "${opts[@]}" update >"$STATE/apt-arm64.log" 2>&1 || die "apt-get update (arm64) failed; see $STATE/apt-arm64.log"
		(cd "$apt/debs" && apt-get "${opts[@]}" download busybox-static:arm64) >>"$STATE/apt-arm64.log" 2>&1 ||
			die "apt-get download busybox-static:arm64 failed; see $STATE/apt-arm64.log"
		deb=$(ls "$apt"/debs/busybox-static_*_arm64.deb | head -1)
	fi
	rm -rf "$ctx"
	mkdir -p "$ctx/rootfs/bin" "$ctx/rootfs/tmp" "$ctx/rootfs/var/task" "$ctx/rootfs/var/runtime" "$ctx/x"
	dpkg-deb -x "$deb" "$ctx/x"
	cp "$ctx/x/bin/busybox" "$ctx/rootfs/bin/busybox"
	local a
	for a in sh mv chmod cp rm mkdir ls cat; do
		ln -s busybox "$ctx/rootfs/bin/$a"
	done
	local what
	what="busybox-static $(dpkg-deb -f "$deb" Version) arm64 from Debian"
	cat >"$ctx/Dockerfile" <<EOF
FROM scratch
COPY rootfs/ /
LABEL $STANDIN_LABEL="$what"
ENV PATH=/usr/local/bin:/usr/bin:/bin LAMBDA_TASK_ROOT=/var/task LAMBDA_RUNTIME_DIR=/var/runtime
WORKDIR /var/task
EOF
	docker build -q --platform linux/arm64 -t "$BASE_IMAGE" "$ctx" >/dev/null || die "docker build of the stand-in failed"
	log "base image: $BASE_IMAGE, a stand-in built here ($what): public.ecr.aws cannot be reached"
}

setup() {
	mkdir -p "$STATE"
	command -v curl >/dev/null || apt_install curl
	docker_up
	arm64_up
	base_image_up
	containers_before=$(docker ps -aq --filter label=sam.cli.container.type=lambda)
}

# host: where SAM's containers reach this machine. SAM CLI connects them to
# Docker's default bridge network (with --docker-network host too: it skips
# connecting to "host"), so on Linux that is the bridge's own address on this
# machine, which only this machine and its containers can reach.
host() {
	local ip=""
	if [[ "$(uname -s)" == Linux ]]; then
		# docker0's IPv4 address (SIOCGIFADDR): iproute2 may not be installed.
		ip=$(python3 -c '
import fcntl, socket, struct
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
print(socket.inet_ntoa(fcntl.ioctl(s.fileno(), 0x8915, struct.pack("256s", b"docker0"))[20:24]))
' 2>/dev/null || true)
	fi
	[[ -n "$ip" ]] || die "no Docker bridge address found (Docker Engine on Linux makes docker0)"
	echo "$ip"
}

# ---------------------------------------------------------------- build
build() {
	"$SAM_SH" exec build --template template.yaml --build-in-source >"$STATE/build.log" 2>&1 || {
		cat "$STATE/build.log" >&2
		die "sam build failed"
	}
	"$SAM_SH" check-build >&2
	"$ROOT/.venv/sam/bin/python" "$HERE/localtemplate.py" "$BUILD/template.yaml" "$LOCAL_TEMPLATE" "${ENDPOINT_VARS[@]}"
	(cd "$ROOT" && go build -o .cache/bin/local ./cmd/local)
}

# sam_local CMD ARGS...: a sam local command on the local template, offline
# (sam.sh exec), never pulling an image.
sam_local() {
	local cmd=$1
	shift
	exec "$SAM_SH" exec local "$cmd" --template "$LOCAL_TEMPLATE" --env-vars "$ENV_VARS" --skip-pull-image "$@"
}

invoke() {
	(($# >= 2)) || die "usage: $0 invoke FUNCTION EVENT-FILE [SAM-ARGS...]"
	[[ -f "$ENV_VARS" ]] || die "$ENV_VARS is missing: start the emulator first (EMULATOR_HOST=\$($0 host) make emulator)"
	local fn=$1 event=$2
	shift 2
	on_exit
	setup
	[[ -f "$LOCAL_TEMPLATE" ]] || build
	(sam_local invoke "$fn" --event "$event" "$@")
}

# wait_port PORT PID NAME: PORT answers on 127.0.0.1, while PID lives.
wait_port() {
	local i
	for ((i = 0; i < 1200; i++)); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
			return 0
		fi
		kill -0 "$2" 2>/dev/null || die "$3 exited; see its log in $RUN"
		sleep 0.1
	done
	die "$3 does not listen on port $1 after 120 s; see $RUN"
}

# api: the emulator (on the Docker bridge, polling both queues into
# start-lambda's DeliveryFunction, the schedule into CleanupFunction),
# sam local start-lambda and sam local start-api, until one exits or a
# signal comes.
api() {
	on_exit
	trap 'exit 0' INT TERM # stopped on purpose
	setup
	if [[ -z "${SAM_LOCAL_NO_BUILD:-}" ]]; then # test-sam-local built already
		build
	fi
	local h
	h=$(host)
	RUN=$(mktemp -d "$STATE/run.XXXXXX")
	# Job control: each background process gets its own process group, so
	# cleanup can signal it whole (and SIGINT is not ignored in it).
	set -m
	rm -f "$ENV_VARS"
	log "logs in $RUN"
	EMULATOR_HOST="$h" EMULATOR_PORT="$EMULATOR_PORT" "$ROOT/.cache/bin/local" -emulator -env-vars "$ENV_VARS" \
		-invoke "http://127.0.0.1:$SAM_LAMBDA_PORT" >"$RUN/emulator.out" 2>"$RUN/emulator.log" </dev/null &
	started_pids+=($!)
	local emu=$!
	local i
	for ((i = 0; i < 1200; i++)); do
		grep -q '^Ctrl-C stops it' "$RUN/emulator.out" 2>/dev/null && break
		kill -0 "$emu" 2>/dev/null || {
			cat "$RUN/emulator.log" >&2
			die "the emulator exited"
		}
		sleep 0.1
	done
	grep -v '^Ctrl-C' "$RUN/emulator.out" >&2
	sam_local start-lambda --host 127.0.0.1 --port "$SAM_LAMBDA_PORT" --warm-containers LAZY \
		>"$RUN/start-lambda.log" 2>&1 </dev/null &
	started_pids+=($!)
	wait_port "$SAM_LAMBDA_PORT" $! "sam local start-lambda"
	sam_local start-api --host 127.0.0.1 --port "$SAM_API_PORT" --warm-containers LAZY \
		>"$RUN/start-api.log" 2>&1 </dev/null &
	started_pids+=($!)
	wait_port "$SAM_API_PORT" $! "sam local start-api"
	cat >&2 <<EOF

webhooks: SAM CLI local emulation
  API (start-api)      http://127.0.0.1:$SAM_API_PORT   (API Gateway's local emulation: no IAM auth)
  functions            http://127.0.0.1:$SAM_LAMBDA_PORT   (sam local start-lambda: DeliveryFunction, CleanupFunction)
  emulator             http://$h:$EMULATOR_PORT   (what the functions in Docker reach)
  logs                 $RUN
  a receiver must be reachable from Docker's containers, e.g. listening on $h

try:
  curl -s http://127.0.0.1:$SAM_API_PORT/healthz
  WEBHOOKS_ENDPOINT=http://127.0.0.1:$SAM_API_PORT go run ./cmd/webhooks list

Ctrl-C stops them all.
EOF
	echo "ready" >"$RUN/ready"
	wait -n "${started_pids[@]}" || true
	log "a process exited; stopping"
}

# test: make test-sam-local. The Go tests count in make test's closing line
# (TESTSUMMARY, and SAM_TALLY inside make test); a setup or build that fails
# counts as one failure there, never as a skip.
test() {
	on_exit
	local t0=$SECONDS summary=("${TESTSUMMARY:-$ROOT/.cache/bin/testsummary}")
	if [[ -n "${SAM_TALLY:-}" ]]; then
		summary+=(-tally "$SAM_TALLY")
		fail_tally="$SAM_TALLY"
	fi
	setup
	build
	fail_tally="" # from here the tests count themselves
	log "setup and build: $((SECONDS - t0)) s"
	local rc=0
	(cd "$ROOT" && SAM_LOCAL_TEMPLATE="$LOCAL_TEMPLATE" SAM_LOCAL_HOST="$(host)" SAM_LOCAL_SH="$HERE/local.sh" \
		go test -tags samlocal -count=1 -json -timeout 40m -parallel "${SAM_LOCAL_PARALLEL:-3}" ./infra/sam/ -run "${SAM_LOCAL_RUN:-^TestSAMLocal}" | "${summary[@]}") || rc=1
	log "test-sam-local: $((SECONDS - t0)) s"
	return "$rc"
}

case "${1:-}" in
setup)
	on_exit
	setup
	started_dockerd="" # keep it: the caller asked for Docker
	;;
host) host ;;
build)
	mkdir -p "$STATE"
	build
	;;
invoke)
	shift
	invoke "$@"
	;;
api) api ;;
test) test ;;
*)
	echo "usage: $0 setup|host|build|invoke FUNCTION EVENT|api|test" >&2
	exit 2
	;;
esac
