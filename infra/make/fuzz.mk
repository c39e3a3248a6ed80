# Fuzzing (Go's native fuzzing). `make fuzz` finds every fuzz target of the
# module (`func FuzzXxx(f *testing.F)` in a _test.go file, confirmed with
# `go test -list`, so a target added anywhere is picked up) and runs each for
# FUZZTIME, one after another, printing one line per target; it fails if any
# target failed. A failing input is written to the package's
# testdata/fuzz/<FuzzXxx>/: commit it, and plain `go test` replays it from
# then on. Not part of `make test`, where plain `go test` runs every target's
# seed corpus (its f.Add calls and testdata/fuzz) once.
#
#   make fuzz                              # every target, 30 s each
#   make fuzz FUZZTIME=5m FUZZ='Cursor|Job' # targets whose name matches

FUZZTIME ?= 30s
FUZZ ?= .
FUZZ_LOGS := $(CACHE)/fuzz

.PHONY: fuzz fuzz-list

# "import/path FuzzName" per line.
fuzz-list: ## list the fuzz targets make fuzz runs (FUZZ=regexp to pick)
	@dirs=$$(grep -rlE --include='*_test.go' \
		--exclude-dir=.git --exclude-dir=.cache --exclude-dir=.aws-sam --exclude-dir=.venv \
		--exclude-dir=node_modules --exclude-dir=vendor --exclude-dir=testdata \
		'^func Fuzz[[:alnum:]_]*\(' . | xargs -r -n1 dirname | sort -u); \
	[ -n "$$dirs" ] || exit 0; \
	$(GO) test -list '^Fuzz' $$dirs | awk -v re='$(FUZZ)' \
		'/^Fuzz/ { names[n++] = $$1; next } \
		 /^ok / { for (i = 0; i < n; i++) if (names[i] ~ re) print $$2, names[i]; n = 0 }'

fuzz: ## run every fuzz target for FUZZTIME each (default 30s), one after another; FUZZ=regexp to pick
	@targets=$$($(MAKE) -s fuzz-list); \
	if [ -z "$$targets" ]; then echo "fuzz: no fuzz targets match '$(FUZZ)'"; exit 1; fi; \
	mkdir -p $(FUZZ_LOGS); pass=0; fail=0; \
	echo "fuzz: $$(wc -l <<< "$$targets") targets, $(FUZZTIME) each (logs in $(FUZZ_LOGS))"; \
	while read -r pkg name; do \
		log=$(FUZZ_LOGS)/$$name.log; start=$$SECONDS; \
		if $(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) "$$pkg" > "$$log" 2>&1 < /dev/null; then \
			result=PASS; pass=$$((pass + 1)); \
		else \
			result=FAIL; fail=$$((fail + 1)); \
		fi; \
		execs=$$(grep -oE 'execs: [0-9]+' "$$log" | tail -n1 | cut -d' ' -f2 || true); \
		printf '%s  %-22s %-52s %4ss  %s execs\n' "$$result" "$$name" "$$pkg" "$$((SECONDS - start))" "$${execs:-?}"; \
		if [ "$$result" = FAIL ]; then sed 's/^/    /' "$$log" | tail -n 40; fi; \
	done <<< "$$targets"; \
	echo "fuzz: $$pass passed, $$fail failed"; \
	[ "$$fail" -eq 0 ]
