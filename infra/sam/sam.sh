#!/usr/bin/env bash
# SAM CLI checks of template.yaml, with no AWS account and no network but PyPI.
#
#   infra/sam/sam.sh venv       create/reuse .venv/sam with the pinned aws-sam-cli
#   infra/sam/sam.sh validate   sam validate (SAM translator) + sam validate --lint
#                               + cfn-lint with informational checks
#   infra/sam/sam.sh build      sam build (the Makefile's build-<LogicalId> targets)
#                               and check each bootstrap is a static linux/arm64 Go binary
#   infra/sam/sam.sh test       all of the above (make test-sam)
#   infra/sam/sam.sh exec ...   run a sam command inside the same offline environment
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE="$ROOT/infra/sam"
VENV="${SAM_VENV:-$ROOT/.venv/sam}"
PYTHON="${PYTHON:-python3}"
REGION="${SAM_REGION:-us-east-1}"
FUNCTIONS=(ApiFunction DeliveryFunction CleanupFunction)

# Offline by construction: no telemetry, no update check (SAM's metadata dir
# is kept inside the venv with the last check far in the future), dummy
# credentials, and any AWS API call that slipped through would go to a closed
# loopback port instead of AWS.
offline_env() {
	export SAM_CLI_TELEMETRY=0
	export __SAM_CLI_APP_DIR="$VENV/sam-app"
	mkdir -p "$__SAM_CLI_APP_DIR"
	if [[ ! -f "$__SAM_CLI_APP_DIR/metadata.json" ]]; then
		printf '{"telemetryEnabled": false, "lastVersionCheck": 4102444800.0}\n' >"$__SAM_CLI_APP_DIR/metadata.json"
	fi
	export AWS_ACCESS_KEY_ID=offline AWS_SECRET_ACCESS_KEY=offline
	unset AWS_SESSION_TOKEN AWS_PROFILE AWS_DEFAULT_PROFILE
	export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
	export AWS_EC2_METADATA_DISABLED=true
	export AWS_ENDPOINT_URL=http://127.0.0.1:9
	# One try: sam local asks STS for the account id, and retrying the
	# closed port costs about 10 s per command.
	export AWS_MAX_ATTEMPTS=1
	export AWS_REGION="$REGION" AWS_DEFAULT_REGION="$REGION"
}

# venv: reused while requirements, constraints and the interpreter are the
# same (the stamp records them); rebuilt from scratch otherwise.
venv() {
	local want have
	want=$(cat "$HERE/requirements.txt" "$HERE/constraints.txt"; "$PYTHON" -c 'import sys; print(sys.version)')
	want=$(printf '%s' "$want" | sha256sum | cut -d' ' -f1)
	have=$(cat "$VENV/.stamp" 2>/dev/null || true)
	if [[ "$want" == "$have" && -x "$VENV/bin/sam" ]]; then
		return 0
	fi
	echo "sam: creating $VENV"
	rm -rf "$VENV"
	"$PYTHON" -m venv "$VENV"
	"$VENV/bin/pip" install --quiet --disable-pip-version-check \
		-r "$HERE/requirements.txt" -c "$HERE/constraints.txt"
	echo "$want" >"$VENV/.stamp"
}

sam() { "$VENV/bin/sam" "$@"; }

# The SAM translator itself (what CloudFormation's transform will do).
step_translate() { sam validate --template template.yaml --region "$REGION"; }
# cfn-lint's errors and warnings, on the transformed template.
step_lint() { sam validate --lint --template template.yaml --region "$REGION"; }
# Also cfn-lint's informational checks (e.g. DeletionPolicy on stateful
# resources): any finding fails.
step_lint_info() {
	"$VENV/bin/cfn-lint" --include-checks I --regions "$REGION" -- template.yaml &&
		echo "cfn-lint (errors, warnings, informational): no findings"
}
# In source: SAM would otherwise copy CodeUri (the whole repository, .venv
# included) to a scratch directory before running make.
step_build() { sam build --template template.yaml --build-in-source; }

# run_steps NAME... runs each step even after one failed, prints
# "sam: N passed, N failed" and, with SAM_TALLY set (inside make test),
# appends the counts to that tally file as infra/cmd/testsummary does.
run_steps() {
	local step passed=0 failed=0
	venv
	offline_env
	cd "$ROOT"
	sam --version
	for step in "$@"; do
		echo "-- sam: $step"
		if "step_$step"; then
			passed=$((passed + 1))
		else
			echo "sam: FAIL $step" >&2
			failed=$((failed + 1))
		fi
	done
	if [[ -n "${SAM_TALLY:-}" ]]; then
		echo "$passed $failed 0" >>"$SAM_TALLY"
	fi
	echo "sam: $passed passed, $failed failed"
	((failed == 0))
}
step_check_build() { check_build; }

# check_build: every function's bootstrap is a static, stripped linux/arm64
# ELF executable (checkelf.py) built as the Makefile promises (go version -m
# records the tags, -trimpath and the target).
check_build() {
	local fn bin info want fail=0 bins=()
	for fn in "${FUNCTIONS[@]}"; do
		bin="$ROOT/.aws-sam/build/$fn/bootstrap"
		if [[ ! -f "$bin" ]]; then
			echo "sam: $fn: no bootstrap at $bin" >&2
			fail=1
			continue
		fi
		bins+=("$bin")
		info=$(go version -m "$bin" | tr '\t' ' ')
		for want in "build GOOS=linux" "build GOARCH=arm64" "build CGO_ENABLED=0" "build -tags=lambda.norpc" "build -trimpath=true"; do
			if ! grep -qF -- "$want" <<<"$info"; then
				echo "sam: $fn: bootstrap's build info lacks '$want'" >&2
				fail=1
			fi
		done
		printf 'sam: %-16s bootstrap %9s bytes (%s)\n' "$fn" "$(stat -c %s "$bin")" "$(head -1 <<<"$info" | cut -d' ' -f2-)"
	done
	if ((${#bins[@]})); then
		"$VENV/bin/python" "$HERE/checkelf.py" "${bins[@]}" || fail=1
	fi
	if ((fail == 0)); then
		echo "sam: every bootstrap is a static, stripped linux/arm64 ELF executable"
	fi
	return "$fail"
}

case "${1:-test}" in
venv) venv ;;
validate) run_steps translate lint lint_info ;;
build) run_steps build check_build ;;
check-build) check_build ;;
test) run_steps translate lint lint_info build check_build ;;
exec)
	shift
	venv
	offline_env
	cd "$ROOT"
	# exec: a caller's signals reach sam itself.
	exec "$VENV/bin/sam" "$@"
	;;
*)
	echo "usage: $0 venv|validate|build|check-build|test|exec SAM-ARGS..." >&2
	exit 2
	;;
esac
