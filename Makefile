# GNU make. `make help` lists the targets.
#
# Other parts of the project add targets in infra/make/*.mk; a test target
# registers itself with `TEST_EXTRA += test-foo` and then runs inside
# `make test`, after the Go tests, with the stand-ins still up (see
# infra/make/README).

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

GO ?= go
PKGS ?= ./...
CACHE := .cache

# Lambda binaries: provided.al2023 on arm64 (Graviton); lambda.norpc drops the
# legacy RPC entry point that the provided runtimes never use.
FUNCTIONS := api delivery cleanup
LAMBDA_ENV := CGO_ENABLED=0 GOOS=linux GOARCH=arm64
LAMBDA_BUILD := $(LAMBDA_ENV) $(GO) build -tags lambda.norpc -trimpath -ldflags='-s -w'

# The test filter and the file that adds up every test command of one `make test`.
TESTSUMMARY := $(CACHE)/bin/testsummary
TEST_TALLY = $(or $(STANDINS_RUN),$(CACHE))/test-tally
# For extra test targets that run `go test -json`: `go test -json ./x | $(TESTSUMMARY_TALLY)`.
TESTSUMMARY_TALLY = $(TESTSUMMARY) -tally $(TEST_TALLY)

TEST_EXTRA :=
-include infra/make/*.mk

.PHONY: help run test test-run lint fmt-check vet bench build clean clean-cache \
	standins standins-up standins-down testsummary \
	build-ApiFunction build-DeliveryFunction build-CleanupFunction

help: ## list the targets
	@awk 'BEGIN { FS = ":.*## " } /^[a-zA-Z0-9_-]+:.*## / { printf "  %-24s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

# Built, then exec'd (not `go run`), so Ctrl-C reaches the server alone and its
# graceful exit is make's exit too.
run: ## serve the whole service locally on 127.0.0.1:3000 (PORT=... to change), only Go needed
	@echo "make run: building ./cmd/local (the first build compiles the service and its AWS emulator, a minute or two; later ones take seconds)"
	@$(GO) build -o $(CACHE)/bin/local ./cmd/local
	exec $(CACHE)/bin/local

test: ## fetch + start the stand-ins, then lint and all tests in strict mode; stand-ins always stopped
	@infra/local/with-standins.sh $(MAKE) test-run

# The body of `make test`, run by with-standins.sh with WEBHOOKS_TEST_* set.
# Every step runs even when an earlier one failed, so one run shows everything;
# the exit status is non-zero if any failed. The closing line is the total.
test-run: export WEBHOOKS_TEST_STRICT = 1
test-run: testsummary
	@rc=0; rm -f $(TEST_TALLY); \
	echo "== lint"; $(MAKE) lint || rc=1; \
	echo "== go test (stand-ins: $${WEBHOOKS_TEST_DYNAMODB_LOCAL:-none}, $${WEBHOOKS_TEST_ELASTICMQ:-none}; strict)"; \
	$(GO) test -count=1 -json $(PKGS) | $(TESTSUMMARY_TALLY) || rc=1; \
	for t in $(TEST_EXTRA); do echo "== $$t"; $(MAKE) $$t || rc=1; done; \
	echo "== total"; $(TESTSUMMARY) -total $(TEST_TALLY) || rc=1; \
	exit $$rc

testsummary: ## build the go test -json filter used by make test
	@$(GO) build -o $(TESTSUMMARY) ./infra/cmd/testsummary

lint: fmt-check vet ## gofmt -l must be empty, go vet must pass

fmt-check:
	@out=$$(find . \( -name .git -o -name .cache -o -name .aws-sam -o -name .venv -o -name node_modules -o -name testdata -o -name vendor \) -prune \
		-o -name '*.go' -print | xargs -r gofmt -l); \
	if [ -n "$$out" ]; then echo "gofmt -l: not formatted:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

bench: ## run the benchmarks (no tests)
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

build: $(FUNCTIONS:%=bin/%/bootstrap) ## build the Lambda binaries bin/{api,delivery,cleanup}/bootstrap (linux/arm64)

# The CLI for this machine (the Lambda binaries above are linux/arm64).
# `go install ./cmd/webhooks` puts it on PATH instead.
CLI_BIN ?= bin/webhooks
.PHONY: cli
cli: ## build the CLI webhooks into bin/webhooks (git-ignored)
	$(GO) build -o $(CLI_BIN) ./cmd/webhooks

# go build decides itself whether anything changed.
bin/%/bootstrap: FORCE
	$(LAMBDA_BUILD) -o $@ ./functions/$*

FORCE:

# `sam build` (BuildMethod: makefile) calls these with ARTIFACTS_DIR set.
build-ApiFunction: ; $(call sam_build,api)
build-DeliveryFunction: ; $(call sam_build,delivery)
build-CleanupFunction: ; $(call sam_build,cleanup)

define sam_build
$(if $(ARTIFACTS_DIR),,$(error ARTIFACTS_DIR is not set: sam build sets it))
$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/$(1)
endef

standins: ## fetch the reference stand-ins into .cache/standins (cached)
	@infra/local/standins.sh fetch

standins-up: ## start the stand-ins for manual runs (then: eval "`infra/local/standins.sh env`")
	@infra/local/standins.sh start

standins-down: ## stop the stand-ins standins-up started
	@infra/local/standins.sh stop

clean: ## remove build output
	rm -rf bin .aws-sam $(CACHE)/bin

clean-cache: standins-down ## also remove the fetched stand-ins (the next make test fetches again)
	rm -rf $(CACHE)
