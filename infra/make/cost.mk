# The cost model (cmd/cost, internal/devtools/bench/cost; docs/cost.md): first-attempt
# deliveries through the real handlers on the reference stand-ins (moto's
# DynamoDB and ElasticMQ, started and stopped as for `make test`; KMS
# embedded), every AWS request, SQS chunk and DynamoDB unit counted and priced
# per million deliveries. Not part of `make test`: its Go test (a small run
# on the emulator, and on the stand-ins in strict mode) is.
#
#   make cost                       # 2,000 deliveries per path
#   make cost COST_N=500 COST_FLAGS='--path queue-batch --latency 250ms'

COST_N ?= 2000
COST_FLAGS ?=

.PHONY: cost

cost: ## measure and price deliveries per million on the reference stand-ins (COST_N=2000, COST_FLAGS=...)
	@infra/local/with-standins.sh $(GO) run ./cmd/cost -n $(COST_N) $(COST_FLAGS)
