# The operator console (internal/console) in a real browser: Debian's
# Chromium, headless, driven by chromedp (cmd/local/console_browser_test.go,
# build tag browser) against the local server and a receiver on loopback.
# Screenshots of every view land in .cache/test-output/console.

.PHONY: test-console

test-console: testsummary ## the console's browser test, installing Debian's chromium when missing (part of make test)
	@infra/console/chromium.sh >/dev/null
	$(GO) test -count=1 -json -tags browser -run '^TestConsoleBrowser$$' ./cmd/local/ | $(TESTSUMMARY_TALLY)

TEST_EXTRA += test-console
