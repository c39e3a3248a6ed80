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

	srv := startServer(t, nil)
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
	// visit moves to another view of the page (a hash change: no reload).
	visit := func(u string) chromedp.Action[chromedp.Void] {
		_, hash, _ := strings.Cut(u, "#")
		return chromedp.Evaluate[chromedp.Void](`location.hash = ` + strconvQuote(hash))
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		require.NoError(t, err, "read "+sel)
		return s
	}

	run("open the console", chromedp.Navigate(base), chromedp.WaitVisible(chromedp.CSS(`.empty`)))
	require.Contains(t, text(`.empty`), "No webhooks yet")
	shot("webhooks-empty")

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
	shot("delivery-succeeded")

	// The receiver fails: retries, then failed.
	status.Store(500)
	run("trigger again", visit(base+"#/trigger?event=custom"), chromedp.WaitVisible(chromedp.CSS(`#fld-data`)),
		chromedp.Click(chromedp.CSS(`form button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(`#trigger-result .panel`)))
	run("back to the webhook", visit(hookURL), chromedp.WaitVisible(chromedp.CSS(`#stats-h`)))
	until("the delivery fails", `document.querySelector('#deliveries .s-failed')`)
	shot("webhook-failed")
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

	// A test send: the endpoint's answer shown.
	run("send a test", visit(hookURL), chromedp.WaitVisible(chromedp.CSS(`#stats-h`)),
		chromedp.Click(chromedp.Search(`//button[normalize-space()="Send test"]`)), chromedp.WaitVisible(chromedp.CSS(`.answer .panel.ok`)))
	answer := text(`.answer`)
	require.Contains(t, answer, "Test delivered")
	require.Contains(t, answer, `{"answered":200}`)
	shot("webhook-test-sent")

	// Edit: the API's refusal at the field, then saved.
	run("edit", chromedp.Click(chromedp.Search(`//a[normalize-space()="Edit"]`)), chromedp.WaitVisible(chromedp.CSS(`#fld-timeout-ms`)),
		chromedp.SetValue(chromedp.CSS(`#fld-timeout-ms`), "10"),
		chromedp.Click(chromedp.CSS(`form button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(`#fld-timeout-ms-err`)))
	require.Contains(t, text(`#fld-timeout-ms-err`), "timeout_ms")
	shot("edit-error")
	run("save", chromedp.SetValue(chromedp.CSS(`#fld-timeout-ms`), "4000"), chromedp.SetValue(chromedp.CSS(`#fld-name`), "Console test, edited"),
		chromedp.Click(chromedp.CSS(`form button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(`#flash .panel`)), chromedp.WaitVisible(chromedp.CSS(`#stats-h`)))
	require.Contains(t, text(`#flash`), "Saved")
	require.Contains(t, text(`h1`), "Console test, edited")
	require.Contains(t, text(`main dl`), "4 s")

	// Pause and resume.
	run("pause", chromedp.Click(chromedp.Search(`//button[normalize-space()="Pause"]`)), chromedp.WaitVisible(chromedp.CSS(`#heading .s-inactive`)))
	require.Contains(t, text(`#flash`), "Paused")
	shot("webhook-paused")
	run("resume", chromedp.Click(chromedp.Search(`//button[normalize-space()="Resume"]`)), chromedp.WaitVisible(chromedp.CSS(`#heading .s-active`)))
	require.Contains(t, text(`#flash`), "Resumed")

	// The 7-day chart, and the list with its row chart.
	run("7 days", chromedp.Click(chromedp.Search(`//button[normalize-space()="Last 7 days"]`)),
		chromedp.WaitVisible(chromedp.CSS(`button[aria-pressed="true"]`)))
	shot("webhook-7d")
	run("list", visit(base+"#/"), chromedp.WaitVisible(chromedp.CSS(`#webhooks .spark`)))
	require.Contains(t, text(`#webhooks`), "Console test")
	shot("webhooks")

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
