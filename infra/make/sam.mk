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
