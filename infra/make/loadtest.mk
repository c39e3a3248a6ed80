# The load benchmark (cmd/loadtest, internal/devtools/loadtest; docs/cost.md):
# builds cmd/local as `make run` does and starts it afresh for every run on
# a free port, with a receiver on 127.0.0.1; sends LOADTEST_N events at
# concurrency LOADTEST_C to LOADTEST_SUBS webhooks through POST /events,
# LOADTEST_RUNS times, and prints each run and the median. Exits non-zero if
# a delivery was lost or duplicated. Not part of `make test` (its Go test, a
# tiny run, is).
#
#   make loadtest
#   make loadtest LOADTEST_N=500 LOADTEST_SUBS=100 LOADTEST_RUNS=1
#   make loadtest LOADTEST_URL=http://127.0.0.1:3000    # a `make run` already running

LOADTEST_N ?= 5000
LOADTEST_C ?= 16
LOADTEST_SUBS ?= 1
LOADTEST_RUNS ?= 3
LOADTEST_URL ?=
LOADTEST_PID ?= 0
LOADTEST_FLAGS ?=

.PHONY: loadtest loadtest-isolation

loadtest: ## load-test the local stack (LOADTEST_N=5000 LOADTEST_C=16 LOADTEST_SUBS=1 LOADTEST_RUNS=3; LOADTEST_URL=... for a running one)
	@$(GO) build -o $(CACHE)/bin/loadtest ./cmd/loadtest
	@$(if $(LOADTEST_URL),,$(GO) build -o $(CACHE)/bin/local ./cmd/local && mkdir -p $(CACHE)/loadtest)
	$(CACHE)/bin/loadtest -n $(LOADTEST_N) -c $(LOADTEST_C) --subscribers $(LOADTEST_SUBS) --runs $(LOADTEST_RUNS) \
		$(if $(LOADTEST_URL),--url $(LOADTEST_URL) --pid $(LOADTEST_PID),--bin $(CACHE)/bin/local --log-dir $(CACHE)/loadtest) $(LOADTEST_FLAGS)

# The isolation benchmark (docs/cost.md): ISOLATION_RATE events/s for
# ISOLATION_DURATION to a healthy webhook, alone and beside one whose endpoint
# answers after 10 s with a 5 s timeout; prints the healthy p99 of both.
# ISOLATION_POLLERS (5, what Lambda starts per queue) is the local event
# source mapping's batches in flight.
ISOLATION_RATE ?= 100
ISOLATION_DURATION ?= 30s
ISOLATION_POLLERS ?= 5

loadtest-isolation: ## isolation benchmark: healthy webhook p99 alone vs beside a timing-out one (ISOLATION_RATE=100 ISOLATION_DURATION=30s)
	@$(GO) build -o $(CACHE)/bin/loadtest ./cmd/loadtest
	@$(GO) build -o $(CACHE)/bin/local ./cmd/local && mkdir -p $(CACHE)/loadtest
	$(CACHE)/bin/loadtest isolation --rate $(ISOLATION_RATE) --duration $(ISOLATION_DURATION) --pollers $(ISOLATION_POLLERS) --bin $(CACHE)/bin/local --log-dir $(CACHE)/loadtest
