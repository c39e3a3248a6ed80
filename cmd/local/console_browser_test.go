//go:build browser

// The console in a real browser: Debian's Chromium, headless, driven with
// chromedp against the local server and a receiver on loopback. Built only
// with -tags browser (make test-console, part of make test), so a bare go
// test ./... needs no browser. Screenshots of every view at 1280×800 and
// 390×844 land in .cache/test-output/console.
package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/devtools/testenv"
)

// pageErrors gathers what the page reports as errors: console.error,
// uncaught exceptions, and the browser's own error entries (a refused
// Content-Security-Policy among them) but for the network's, which are the
// API's intended 4xx answers.
type pageErrors struct {
	mu   sync.Mutex
	list []string
}

func (p *pageErrors) add(s string) {
	p.mu.Lock()
	p.list = append(p.list, s)
	p.mu.Unlock()
}

func (p *pageErrors) all() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.list...)
}

func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if testenv.Strict() {
		t.Fatal("chromium is not installed (make test-console installs Debian's)")
	}
	t.Skip("chromium is not installed; make test-console installs it")
	return ""
}

func TestConsoleBrowser(t *testing.T) {
	exe := chromium(t)
	out := filepath.Join("..", "..", ".cache", "test-output", "console")
	require.NoError(t, os.MkdirAll(out, 0o755))

	// The receiver answers what status says.
	var status atomic.Int32
	status.Store(200)
	var hits atomic.Int32
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("X-Receiver", "console-test")
		code := int(status.Load())
		w.WriteHeader(code)
		fmt.Fprintf(w, `{"answered":%d}`, code)
	}))
	t.Cleanup(recv.Close)

	// A small circuit: two failed attempts open it, a second's cooldown
	// lets the next delivery probe soon after.
	srv := startServer(t, map[string]string{"CIRCUIT_OPEN_AFTER": "2", "CIRCUIT_COOLDOWN_MS": "1000"})
	base := srv.url + "/console/"

	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(1280, 800),
		chromedp.Flag("lang", "en-US"))...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()
	ctx, cancel := context.WithTimeout(bctx, 4*time.Minute)
	defer cancel()

	errs := &pageErrors{}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			switch {
			case m.Type == chromedp.ConsoleError && m.Source == "network":
				// The API's intended 4xx answers (a refused URL).
			case m.Type == chromedp.ConsoleError, m.Type == chromedp.ConsoleException:
				errs.add(fmt.Sprintf("%s %s:%d: %s", m.Type, m.URL, m.Line+1, m.Text))
			}
		}
	}()

	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		step, cancel := context.WithTimeout(ctx, 45*time.Second)
		defer cancel()
		require.NoError(t, chromedp.Do(step, actions...), what)
	}
	shots := 0
	shot := func(name string) {
		t.Helper()
		shots++
		for _, size := range [][2]int64{{1280, 800}, {390, 844}} {
			run("viewport "+name, chromedp.EmulateViewport(size[0], size[1]))
			// Readable at that width: nothing wider than the screen.
			width, err := chromedp.Run(ctx, chromedp.Evaluate[int64](`document.documentElement.scrollWidth`))
			require.NoError(t, err)
			require.LessOrEqual(t, width, size[0], "%s at %dpx is %dpx wide", name, size[0], width)
			// Every time is local with the API's absolute UTC time (ms) on
			// hover; every control has a label.
			bad, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[
				...[...document.querySelectorAll('time')].filter((t) => !/\.\d{3}Z$/.test(t.dateTime) || !t.title.startsWith(t.dateTime + ' (UTC)')).map((t) => 'time ' + t.dateTime + ': ' + t.title),
				...[...document.querySelectorAll('input, select, textarea')].filter((c) => !c.labels.length && !c.getAttribute('aria-label') && !c.getAttribute('aria-labelledby')).map((c) => 'unlabelled ' + c.outerHTML),
			]`))
			require.NoError(t, err)
			require.Empty(t, bad, name)
			// The whole page at that width: what is below the fold is shown too.
			png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
			require.NoError(t, err, "screenshot "+name)
			file := filepath.Join(out, fmt.Sprintf("%02d-%s-%dx%d.png", shots, name, size[0], size[1]))
			require.NoError(t, os.WriteFile(file, png, 0o644))
		}
		run("viewport back", chromedp.EmulateViewport(1280, 800))
	}
	// until polls the page for a JS condition, running act (a click on
	// Refresh) between tries: the console shows what the API answers when
	// asked, deliveries arrive in the background.
	until := func(what, cond string) {
		t.Helper()
		js := `(() => { if (` + cond + `) return true; const r = document.getElementById('refresh'); if (r && !r.disabled) r.click(); return false; })()`
		_, err := chromedp.Run(ctx, chromedp.Poll[bool](js, chromedp.WithPollingInterval(400*time.Millisecond), chromedp.WithPollingTimeout(40*time.Second)))
		require.NoError(t, err, what)
	}
	// waitFor polls the page for a JS condition, touching nothing.
	waitFor := func(what, cond string) {
		t.Helper()
		_, err := chromedp.Run(ctx, chromedp.Poll[bool](`!!(`+cond+`)`, chromedp.WithPollingInterval(200*time.Millisecond), chromedp.WithPollingTimeout(40*time.Second)))
		require.NoError(t, err, what)
	}
	// choose picks a select's option as a person would (a change event).
	choose := func(sel, value string) chromedp.Action[chromedp.Void] {
		return chromedp.Evaluate[chromedp.Void](`(() => { const s = document.querySelector(` + strconvQuote(sel) + `); s.value = ` + strconvQuote(value) + `; s.dispatchEvent(new Event('change')); })()`)
	}
	// visit moves to another view of the page (a hash change: no reload).
	visit := func(u string) chromedp.Action[chromedp.Void] {
		_, hash, _ := strings.Cut(u, "#")
		// The old view goes first, so nothing waited for next is found in it.
		return chromedp.Evaluate[chromedp.Void](`document.getElementById('main').replaceChildren(); location.hash = ` + strconvQuote(hash))
	}
	text := func(sel string) string {
		t.Helper()
		step, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		s, err := chromedp.Run(step, chromedp.Text(chromedp.CSS(sel)))
		require.NoError(t, err, "read "+sel)
		return s
	}

	run("open the console", chromedp.Navigate(base), chromedp.WaitVisible(chromedp.CSS(`.empty`)))
	require.Contains(t, text(`.empty`), "No webhooks yet")
	shot("webhooks-empty")

	// oauth2 in the form: its credentials' fields, the API's refusal of a
	// bad token_url at that field.
	run("oauth2 form", visit(base+"#/new"), chromedp.WaitVisible(chromedp.CSS(`#fld-url`)),
		chromedp.SendKeys(chromedp.CSS(`#fld-name`), "OAuth target"),
		chromedp.SendKeys(chromedp.CSS(`#fld-url`), recv.URL+"/hook"),
		chromedp.Click(chromedp.CSS(`input[name=events][value=custom]`)),
		choose(`#fld-auth-type`, "oauth2"), chromedp.WaitVisible(chromedp.CSS(`#fld-auth-credentials-token-url`)),
		chromedp.SendKeys(chromedp.CSS(`#fld-auth-credentials-token-url`), "ftp://tokens.example.com/token"),
		chromedp.SendKeys(chromedp.CSS(`#fld-auth-credentials-client-id`), "console"),
		chromedp.SendKeys(chromedp.CSS(`#fld-auth-credentials-client-secret`), "s3cret-value"),
		chromedp.SendKeys(chromedp.CSS(`#fld-auth-credentials-scope`), "hooks:write"),
		choose(`#fld-auth-credentials-auth-style`, "body"),
		chromedp.Click(chromedp.CSS(`form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#fld-auth-credentials-token-url-err`)))
	require.Contains(t, text(`#fld-auth-credentials-token-url-err`), "token_url")
	shot("create-oauth2-error")

	run("events", chromedp.Click(chromedp.CSS(`a[data-nav="events"]`)), chromedp.WaitVisible(chromedp.CSS(`main table`)))
	shot("events")

	// Create: a bad URL first, answered by the API at the field.
	run("new webhook form", chromedp.Click(chromedp.CSS(`a[data-nav="new"]`)), chromedp.WaitVisible(chromedp.CSS(`#fld-url`)),
		chromedp.SendKeys(chromedp.CSS(`#fld-name`), "Console test"),
		chromedp.SendKeys(chromedp.CSS(`#fld-url`), "ftp://example.com/hook"),
		chromedp.Click(chromedp.CSS(`input[name=events][value=custom]`)),
		chromedp.SendKeys(chromedp.CSS(`#fld-retry-max-attempts`), "2"),
		chromedp.SendKeys(chromedp.CSS(`#fld-retry-initial-delay-ms`), "100"),
		chromedp.SendKeys(chromedp.CSS(`#fld-retry-max-delay-ms`), "200"),
		chromedp.SendKeys(chromedp.CSS(`#fld-timeout-ms`), "5000"),
		chromedp.Click(chromedp.CSS(`form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#fld-url-err`)))
	require.Contains(t, strings.ToLower(text(`#fld-url-err`)), "url")
	invalid, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(`#fld-url`), "aria-invalid"))
	require.NoError(t, err)
	require.Equal(t, "true", invalid.Value)
	shot("create-url-error")

	run("fix the url", chromedp.SetValue(chromedp.CSS(`#fld-url`), recv.URL+"/hook"),
		chromedp.Click(chromedp.CSS(`form button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(`#created`)))
	require.Contains(t, text(`#created`), "whsec_", "the one-time answer shows the generated secret")
	shot("created")

	run("open it", chromedp.Click(chromedp.CSS(`#created a.button`)), chromedp.WaitVisible(chromedp.CSS(`#stats-h`)))
	detail := text(`main`)
	require.NotContains(t, detail, "whsec_", "the webhook's page masks the secret")
	require.Contains(t, detail, "No deliveries yet")
	hookURL, err := chromedp.Run(ctx, chromedp.Location())
	require.NoError(t, err)
	shot("webhook-new")

	// Trigger from the form: bad JSON is refused at the field first.
	run("trigger form", chromedp.Click(chromedp.CSS(`.empty a`)), chromedp.WaitVisible(chromedp.CSS(`#fld-data`)),
		chromedp.SetValue(chromedp.CSS(`#fld-data`), `{"order": `),
		chromedp.Click(chromedp.CSS(`form button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(`#fld-data-err`)))
	require.Contains(t, text(`#fld-data-err`), "not valid JSON")
	shot("trigger-json-error")
	run("trigger", chromedp.SetValue(chromedp.CSS(`#fld-data`), `{"order": 42}`),
		chromedp.Click(chromedp.CSS(`form button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(`#trigger-result .panel`)))
	require.Contains(t, text(`#trigger-result`), "Deliveries queued")
	shot("triggered")

	// The delivery arrives; its attempt in the timeline.
	run("back to the webhook", visit(hookURL), chromedp.WaitVisible(chromedp.CSS(`#stats-h`)))
	until("the delivery succeeds", `document.querySelector('#deliveries .s-succeeded')`)
	shot("webhook-delivered")
	run("open the delivery", chromedp.Click(chromedp.CSS(`#deliveries a`)), chromedp.WaitVisible(chromedp.CSS(`#timeline`)))
	tl := text(`#timeline`)
	require.Contains(t, tl, "Attempt 1")
	require.Contains(t, tl, "HTTP 200")
	// Split timings: a new connection to an IP over http has a connect and
	// a first byte, no DNS and no TLS.
	timings := text(`#timeline .timings`)
	require.Regexp(t, `Connect \d+(\.\d)? ms`, timings)
	require.Regexp(t, `First byte \d+(\.\d)? ms`, timings)
	require.Contains(t, timings, "TLS —")
	shot("delivery-succeeded")

	// The receiver fails: retries, then failed.
	status.Store(500)
	run("trigger again", visit(base+"#/trigger?event=custom"), chromedp.WaitVisible(chromedp.CSS(`#fld-data`)),
		chromedp.Click(chromedp.CSS(`form button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(`#trigger-result .panel`)))
	run("back to the webhook", visit(hookURL), chromedp.WaitVisible(chromedp.CSS(`#stats-h`)))
	// Two failed attempts fail the delivery and open the circuit (the
	// page reads the webhook before its deliveries: both are waited for).
	until("the delivery fails", `document.querySelector('#deliveries .s-failed') && document.querySelector('#health .s-open')`)
	health := text(`#health`)
	require.Contains(t, health, "circuit open")
	require.Regexp(t, `Consecutive failures\s*2`, health)
	require.NotContains(t, health, "not failing")
	shot("webhook-failed")
	run("the list with the circuit open", visit(base+"#/"), chromedp.WaitVisible(chromedp.CSS(`#webhooks .s-open`)))
	require.Contains(t, text(`#webhooks .health`), "2 consecutive failures since")
	shot("webhooks-circuit-open")
	run("back to the webhook", visit(hookURL), chromedp.WaitVisible(chromedp.CSS(`#deliveries .s-failed`)))
	run("open the failed delivery", chromedp.Click(chromedp.CSS(`#deliveries tr:has(.s-failed) a`)), chromedp.WaitVisible(chromedp.CSS(`#timeline`)))
	tl = text(`#timeline`)
	require.Contains(t, tl, "Attempt 2", "retried")
	require.Contains(t, tl, "HTTP 500")
	shot("delivery-failed")

	// Retry from the console: it succeeds.
	status.Store(200)
	run("retry", chromedp.Click(chromedp.Search(`//button[normalize-space()="Retry"]`)), chromedp.WaitVisible(chromedp.CSS(`#flash .panel`)))
	require.Contains(t, text(`#flash`), "Retry queued")
	until("the retried delivery succeeds", `document.querySelector('#heading .s-succeeded')`)
	tl = text(`#timeline`)
	require.Contains(t, tl, "Attempt 3")
	shot("delivery-retried")

	// Recover since T: another delivery fails, the receiver mends, a
	// recovery of the last 24 hours re-sends it and runs to done.
	status.Store(500)
	run("trigger a third", visit(base+"#/trigger?event=custom"), chromedp.WaitVisible(chromedp.CSS(`#fld-data`)),
		chromedp.Click(chromedp.CSS(`form button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(`#trigger-result .panel`)))
	run("back to the webhook", visit(hookURL), chromedp.WaitVisible(chromedp.CSS(`#stats-h`)))
	until("the third fails", `document.querySelector('#deliveries .s-failed')`)
	status.Store(200)
	run("recover", chromedp.WaitVisible(chromedp.CSS(`#fld-since`)),
		chromedp.Click(chromedp.Search(`//button[normalize-space()="Recover"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#recovery .panel`)))
	waitFor("the recovery is done", `document.querySelector('#recovery [data-status="done"]')`)
	require.Contains(t, text(`#recovery`), "1 re-queued, 0 skipped")
	shot("webhook-recovery-done")
	until("the recovered delivery succeeds", `document.querySelector('#deliveries tbody') && !document.querySelector('#deliveries .s-failed, #deliveries .s-pending, #deliveries .s-retrying')`)
	require.Contains(t, text(`#recovery`), "Recovery done", "a redrawn page goes on showing the recovery")

	// A test send: the endpoint's answer shown.
	run("send a test", visit(hookURL), chromedp.WaitVisible(chromedp.CSS(`#stats-h`)),
		chromedp.Click(chromedp.Search(`//button[normalize-space()="Send test"]`)), chromedp.WaitVisible(chromedp.CSS(`.answer .panel.ok`)))
	answer := text(`.answer`)
	require.Contains(t, answer, "Test delivered")
	require.Contains(t, answer, `{"answered":200}`)
	require.Contains(t, answer, "First byte", "the test's split timings")
	shot("webhook-test-sent")

	// Rotate the secret: the new one shown this once, the old one's end.
	run("rotate", chromedp.SetValue(chromedp.CSS(`#fld-previous-valid-for-ms`), "1"),
		chromedp.Click(chromedp.Search(`//button[normalize-space()="Rotate secret"]`)), chromedp.WaitVisible(chromedp.CSS(`dialog[open]`)),
		chromedp.Click(chromedp.CSS(`dialog .danger`)), chromedp.WaitVisible(chromedp.CSS(`#rotated`)))
	require.Regexp(t, `^whsec_[A-Za-z0-9+/=]{20,}$`, text(`#new-secret`))
	require.Contains(t, text(`#rotate-overlap`), "still signs until")
	shot("webhook-rotated")
	run("redraw", chromedp.Click(chromedp.CSS(`#refresh`)), chromedp.WaitNotPresent(chromedp.CSS(`#rotated`)), chromedp.WaitVisible(chromedp.CSS(`#stats-h`)))
	detail = text(`main`)
	require.NotContains(t, detail, "whsec_", "the rotated secret is shown once")
	require.Contains(t, text(`#rotate-overlap`), "still signs until")

	// Edit: the API's refusal at the field, then saved.
	run("edit", chromedp.Click(chromedp.Search(`//a[normalize-space()="Edit"]`)), chromedp.WaitVisible(chromedp.CSS(`#fld-timeout-ms`)),
		chromedp.SetValue(chromedp.CSS(`#fld-timeout-ms`), "10"),
		chromedp.Click(chromedp.CSS(`form button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(`#fld-timeout-ms-err`)))
	require.Contains(t, text(`#fld-timeout-ms-err`), "timeout_ms")
	shot("edit-error")
	run("a bad filter", chromedp.SetValue(chromedp.CSS(`#fld-timeout-ms`), "4000"),
		chromedp.SetValue(chromedp.CSS(`#fld-filter`), `{"data": {"order": {"$bogus": 1}}}`),
		chromedp.Click(chromedp.CSS(`form button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(`#fld-filter-err`)))
	require.Contains(t, text(`#fld-filter-err`), "$bogus")
	shot("edit-filter-error")
	run("save", chromedp.SetValue(chromedp.CSS(`#fld-filter`), `{"data": {"order": {"$gte": 1}}}`), chromedp.SetValue(chromedp.CSS(`#fld-name`), "Console test, edited"),
		chromedp.Click(chromedp.CSS(`form button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(`#flash .panel`)), chromedp.WaitVisible(chromedp.CSS(`#stats-h`)))
	require.Contains(t, text(`#flash`), "Saved")
	require.Contains(t, text(`h1`), "Console test, edited")
	require.Contains(t, text(`#config`), "4 s")
	require.Contains(t, text(`#filter-json`), `"$gte": 1`)

	// Filter test: one event it refuses, one it passes.
	run("filter test, no match", chromedp.SetValue(chromedp.CSS(`#fld-ft-data`), `{"order": 0}`),
		chromedp.Click(chromedp.Search(`//button[normalize-space()="Test filter"]`)), chromedp.WaitVisible(chromedp.CSS(`#filter-result .panel.bad`)))
	require.Contains(t, text(`#filter-result`), "Does not match")
	run("filter test, a match", chromedp.SetValue(chromedp.CSS(`#fld-ft-data`), `{"order": 42}`),
		chromedp.Click(chromedp.Search(`//button[normalize-space()="Test filter"]`)), chromedp.WaitVisible(chromedp.CSS(`#filter-result .panel.ok`)))
	require.Contains(t, text(`#filter-result`), "Matches")
	shot("webhook-filter-test")

	// Pause and resume.
	run("pause", chromedp.Click(chromedp.Search(`//button[normalize-space()="Pause"]`)), chromedp.WaitVisible(chromedp.CSS(`#heading .s-inactive`)))
	require.Contains(t, text(`#flash`), "Paused")
	require.Contains(t, text(`#status-reason`), "paused by an operator", "status_reason shown")
	shot("webhook-paused")
	run("resume", chromedp.Click(chromedp.Search(`//button[normalize-space()="Resume"]`)), chromedp.WaitVisible(chromedp.CSS(`#heading .s-active`)))
	require.Contains(t, text(`#flash`), "Resumed")
	run("pause with hold", chromedp.Click(chromedp.Search(`//button[normalize-space()="Pause and hold"]`)), chromedp.WaitVisible(chromedp.CSS(`#heading .s-inactive`)))
	require.Contains(t, text(`#flash`), "Paused with hold")
	require.Contains(t, text(`#status-reason`), "holding deliveries", "a held pause says so")
	shot("webhook-paused-hold")
	run("resume after hold", chromedp.Click(chromedp.Search(`//button[normalize-space()="Resume"]`)), chromedp.WaitVisible(chromedp.CSS(`#heading .s-active`)))
	require.Contains(t, text(`#flash`), "Resumed")

	// The 7-day chart, and the list with its row chart.
	run("7 days", chromedp.Click(chromedp.Search(`//button[normalize-space()="Last 7 days"]`)),
		chromedp.WaitVisible(chromedp.CSS(`button[aria-pressed="true"]`)))
	shot("webhook-7d")
	run("list", visit(base+"#/"), chromedp.WaitVisible(chromedp.CSS(`#webhooks .spark`)))
	require.Contains(t, text(`#webhooks`), "Console test")
	shot("webhooks")

	// A batch: each event answered in its row, the filter deciding the
	// deliveries, an unknown event refused on its own.
	run("batch", visit(base+"#/trigger"), chromedp.WaitVisible(chromedp.CSS(`#fld-data`)),
		chromedp.Click(chromedp.Search(`//a[normalize-space()="Trigger several events at once"]`)), chromedp.WaitVisible(chromedp.CSS(`#fld-events`)),
		chromedp.SetValue(chromedp.CSS(`#fld-events`), `[{"event": "custom", "data": {"order": 5}}, {"event": "custom", "data": {"order": 0}}, {"event": "nope"}]`),
		chromedp.Click(chromedp.CSS(`form button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(`#batch-items`)))
	batch := text(`#batch-result`)
	require.Contains(t, batch, "2 of 3 accepted")
	require.Contains(t, batch, "1 delivery queued")
	require.Contains(t, batch, "0 deliveries queued")
	require.Contains(t, batch, "events[2].event: ")
	shot("batch")

	// Delete, confirmed in the dialog.
	run("delete", visit(hookURL), chromedp.WaitVisible(chromedp.CSS(`#stats-h`)),
		chromedp.Click(chromedp.Search(`//button[normalize-space()="Delete"]`)), chromedp.WaitVisible(chromedp.CSS(`dialog[open]`)))
	shot("delete-confirm")
	run("confirm", chromedp.Click(chromedp.CSS(`dialog .danger`)), chromedp.WaitVisible(chromedp.CSS(`.empty`)))
	require.Contains(t, text(`#flash`), "Deleted")
	shot("webhooks-deleted")

	require.Positive(t, hits.Load())
	require.Empty(t, errs.all(), "the page reported errors")
	t.Logf("screenshots in %s", out)
}

func strconvQuote(s string) string { return strconv.Quote(s) }
