# The local stack of `make run` (cmd/local): its emulator on its own, and the
# state both keep across restarts in WEBHOOKS_DATA_DIR (default
# .cache/local/data; WEBHOOKS_DATA_DIR=memory keeps nothing).

LOCAL_DATA_DIR = $(or $(WEBHOOKS_DATA_DIR),$(CACHE)/local/data)

.PHONY: emulator reset

# Built, then exec'd, as `make run`: Ctrl-C reaches the emulator alone.
emulator: ## only the AWS emulator, on 127.0.0.1:4566 (EMULATOR_HOST, EMULATOR_PORT), with the tables, queues and key; prints a function's environment
	@$(GO) build -o $(CACHE)/bin/local ./cmd/local
	exec $(CACHE)/bin/local -emulator -env-vars $(CACHE)/sam/env.json

reset: ## empty the data the local stack keeps (WEBHOOKS_DATA_DIR, default .cache/local/data); stop make run / make emulator first
	@d='$(LOCAL_DATA_DIR)'; \
	if [ "$$d" = memory ]; then echo "WEBHOOKS_DATA_DIR=memory: nothing is kept"; exit 0; fi; \
	case "$$(realpath -m -- "$$d")" in /|"$$HOME"|"$$(pwd)") echo "reset: refusing to empty $$d" >&2; exit 1;; esac; \
	rm -rf -- "$$d" && echo "reset: emptied $$d"
