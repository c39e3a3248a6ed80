# AWS SAM checks (infra/sam/sam.sh): the pinned SAM CLI in .venv/sam (reused
# between runs), sam validate + cfn-lint, and sam build through the Makefile's
# build-<LogicalId> targets. Offline: no AWS account, no network but PyPI.

SAM_SH := infra/sam/sam.sh

.PHONY: sam-venv sam-validate sam-build test-sam

sam-venv: ## Create or reuse .venv/sam with the pinned aws-sam-cli
	@$(SAM_SH) venv

sam-validate: ## sam validate (--lint) and cfn-lint of template.yaml
	@$(SAM_SH) validate

sam-build: ## sam build (arm64 bootstraps in .aws-sam/build) and check the binaries
	@$(SAM_SH) build

test-sam: ## sam-validate + sam-build (part of make test)
	@$(if $(WEBHOOKS_TEST_STRICT),SAM_TALLY=$(TEST_TALLY)) $(SAM_SH) test

TEST_EXTRA += test-sam

# SAM CLI's local commands in Docker (infra/sam/local.sh) against the local
# emulator (cmd/local -emulator). They need a Docker daemon, and on a machine
# that is not arm64 QEMU's arm64 emulation: local.sh installs and starts both
# when run as root on Debian, and stops what it started.
SAM_LOCAL_SH := infra/sam/local.sh

.PHONY: sam-api sam-invoke test-sam-local

sam-api: ## the API on sam local start-api (127.0.0.1:$SAM_API_PORT, default 3001), deliveries by sam local start-lambda, on the emulator; needs Docker
	@$(SAM_LOCAL_SH) api

sam-invoke: ## sam local invoke $FN -e $EVENT against a running emulator (started with EMULATOR_HOST=$(infra/sam/local.sh host) make emulator)
	@$(SAM_LOCAL_SH) invoke $(FN) $(EVENT)

test-sam-local: testsummary ## every events/ file through sam local invoke, and a webhook's life through sam local start-api (part of make test)
	@TESTSUMMARY=$(TESTSUMMARY) $(if $(WEBHOOKS_TEST_STRICT),SAM_TALLY=$(TEST_TALLY)) $(SAM_LOCAL_SH) test

TEST_EXTRA += test-sam-local
