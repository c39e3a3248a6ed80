package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/app"
	"github.com/systemprompt-io/webhooks/internal/config"
	"github.com/systemprompt-io/webhooks/internal/devtools/localaws"
	"github.com/systemprompt-io/webhooks/internal/devtools/testenv"
	httpapi "github.com/systemprompt-io/webhooks/internal/httpapi"
	"github.com/systemprompt-io/webhooks/internal/store"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// localServer serves the real API handler on a free loopback port, backed by
// the embedded emulator with this test's own tables, queues and key, and runs
// the delivery function behind the queues as the local server does.
func localServer(t *testing.T) string {
	t.Helper()
	b := make([]byte, 6)
	_, err := rand.Read(b)
	require.NoError(t, err)
	suffix := hex.EncodeToString(b)
	stack, err := localaws.Start(context.Background(), localaws.Options{
		Endpoint: testenv.KumoURL(),
		Tables:   store.Tables{Webhooks: "cli-webhooks-" + suffix, Deliveries: "cli-deliveries-" + suffix},
		KeyAlias: "alias/cli-" + suffix, QueuePrefix: "cli-" + suffix + "-",
	})
	require.NoError(t, err)
	t.Cleanup(stack.Close)
	cfg := stack.Config(config.Config{AllowPrivate: true, DefaultTimeout: 30 * time.Second, RetentionDays: 30})
	log := slog.New(slog.NewTextHandler(testWriter{t}, nil))
	p, err := app.NewPipeline(cfg, stack.Clients, log, nil)
	require.NoError(t, err)
	bg, err := stack.StartBackground(localaws.Functions{Delivery: p.SQSHandler(), Logger: log})
	require.NoError(t, err)
	t.Cleanup(bg.Stop)
	opts, err := app.APIOptions(cfg, p, log)
	require.NoError(t, err)
	h, err := httpapi.New(opts)
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// testWriter sends the server's logs to the test log (shown on failure or
// with -v). The pollers stop in a cleanup, before the test ends.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}

// receiver is a subscriber endpoint on loopback: /ok answers 200, every
// other path 500.
func receiver(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if r.URL.Path != "/ok" {
			http.Error(w, "refused", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"ok":true}`)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// buildCLI builds this command into a temporary directory.
func buildCLI(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "webhooks")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	return bin
}

type result struct {
	code           int
	stdout, stderr string
}

type runner struct {
	t        *testing.T
	bin, url string
}

// run runs the CLI with no terminal on stdin.
func (c runner) run(args ...string) result {
	c.t.Helper()
	cmd := exec.Command(c.bin, args...)
	cmd.Env = append(os.Environ(), "WEBHOOKS_ENDPOINT="+c.url)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else {
		require.NoError(c.t, err)
	}
	return result{code, stdout.String(), stderr.String()}
}

// ok runs the CLI and requires success.
func (c runner) ok(args ...string) string {
	c.t.Helper()
	r := c.run(args...)
	require.Equal(c.t, 0, r.code, "webhooks %s: stderr %s", strings.Join(args, " "), r.stderr)
	assert.Empty(c.t, r.stderr, "webhooks %s", strings.Join(args, " "))
	return r.stdout
}

// fails runs the CLI and checks the exit status and the one-line error.
func (c runner) fails(code int, stderr string, args ...string) {
	c.t.Helper()
	r := c.run(args...)
	assert.Equal(c.t, code, r.code, "webhooks %s: exit status (stderr %s)", strings.Join(args, " "), r.stderr)
	assert.Regexp(c.t, "^"+stderr+"\n$", r.stderr, "webhooks %s", strings.Join(args, " "))
	assert.Empty(c.t, r.stdout)
}

func createdID(t *testing.T, table string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^ID\s+(wh_[0-9a-f]{32})$`).FindStringSubmatch(table)
	require.NotNil(t, m, "no ID row in:\n%s", table)
	return m[1]
}

// row returns the value of one "Key  value" row of a detail table.
func row(t *testing.T, table, key string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(key) + `\s{2,}(.*)$`).FindStringSubmatch(table)
	require.NotNil(t, m, "no %s row in:\n%s", key, table)
	return m[1]
}

const timeRE = `(just now|\d+s ago) \(\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\)`

// TestCLIAgainstLocalServer drives the built binary through the life of
// webhooks on a real local server.
func TestCLIAgainstLocalServer(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the CLI")
	}
	c := runner{t: t, bin: buildCLI(t), url: localServer(t)}

	// The event catalogue.
	events := c.ok("events")
	assert.Regexp(t, `(?m)^EVENT\s+DESCRIPTION$`, events)
	assert.Regexp(t, `(?m)^agent\.started\s+Agent has started execution$`, events)
	assert.Equal(t, 1+len(webhook.EventTypes()), strings.Count(events, "\n"), "header and the catalogue's events")
	assert.Regexp(t, `(?m)^delivery\.failed\s+`, events, "the operational events too")

	// Create, one per auth type; secrets never come back in full.
	plain := c.ok("create", "--name", "Plain", "--url", "http://127.0.0.1:9/hook", "--events", "agent.started,custom")
	plainID := createdID(t, plain)
	assert.Equal(t, "none", row(t, plain, "Auth"))
	assert.Equal(t, "exponential, 3 attempts, initial delay 1s, max delay 1m0s", row(t, plain, "Retry"))
	assert.Equal(t, "30s", row(t, plain, "Timeout"))
	assert.Equal(t, "1", row(t, plain, "Version"))
	assert.Regexp(t, "^"+timeRE+"$", row(t, plain, "Created"))

	basic := c.ok("create", "--name", "Basic", "--url", "https://example.com/b", "--events", "agent.failed",
		"--method", "PUT", "--auth-type", "basic", "--auth-credentials", `{"username":"user","password":"pass-word-1"}`)
	assert.Regexp(t, `^basic \(password=\S+, username=\S+\)$`, row(t, basic, "Auth"))
	assert.NotContains(t, basic, "pass-word-1")
	assert.Equal(t, "PUT", row(t, basic, "Method"))

	bearer := c.ok("create", "--name", "My Webhook", "--url", "https://example.com/webhook", "--events", "agent.started,agent.failed",
		"--headers", `{"X-Custom":"value"}`, "--auth-type", "bearer", "--auth-credentials", `{"token":"secret123456"}`,
		"--retry-strategy", "linear", "--max-attempts", "5", "--initial-delay", "2s", "--max-delay", "600000", "--timeout", "10s")
	bearerID := createdID(t, bearer)
	assert.Regexp(t, `^bearer \(token=\S+\)$`, row(t, bearer, "Auth"))
	assert.NotContains(t, bearer, "secret123456")
	assert.Equal(t, "X-Custom: value", row(t, bearer, "Headers"))
	assert.Equal(t, "linear, 5 attempts, initial delay 2s, max delay 10m0s", row(t, bearer, "Retry"))
	assert.Equal(t, "10s", row(t, bearer, "Timeout"))

	apiKey := c.ok("create", "--name", "Key", "--url", "https://example.com/k", "--events", "task.failed",
		"--auth-type", "api-key", "--auth-credentials", `{"api_key":"key-abcdef123","header_name":"X-Key"}`, "--format", "json")
	var keyHook struct {
		ID              string            `json:"id"`
		AuthType        string            `json:"auth_type"`
		AuthCredentials map[string]string `json:"auth_credentials"`
		Status          string            `json:"status"`
	}
	require.NoError(t, json.Unmarshal([]byte(apiKey), &keyHook), apiKey)
	assert.Equal(t, "api-key", keyHook.AuthType)
	assert.Equal(t, "X-Key", keyHook.AuthCredentials["header_name"])
	assert.NotEqual(t, "key-abcdef123", keyHook.AuthCredentials["api_key"])
	assert.NotContains(t, apiKey, "key-abcdef123")
	assert.Equal(t, "active", keyHook.Status)

	hmac := c.ok("create", "--name", "Signed", "--url", "https://example.com/h", "--events", "custom",
		"--auth-type", "hmac", "--auth-credentials", `{"secret":"shared-secret-value"}`)
	assert.NotContains(t, hmac, "shared-secret-value")
	generated := c.ok("create", "--name", "Generated", "--url", "https://example.com/g", "--events", "custom", "--auth-type", "hmac")
	assert.Regexp(t, `^hmac \(secret=whsec_\S+\)$`, row(t, generated, "Auth"), "a generated secret is shown once")
	genID := createdID(t, generated)
	assert.Regexp(t, `^hmac \(secret=\S+\)$`, row(t, c.ok("info", genID), "Auth"))
	assert.NotEqual(t, row(t, generated, "Auth"), row(t, c.ok("info", genID), "Auth"), "and masked afterwards")

	// List, with filters and pages.
	list := c.ok("list")
	assert.Regexp(t, `(?m)^ID\s+NAME\s+STATUS\s+HEALTH\s+EVENTS\s+URL\s+CREATED$`, list)
	assert.Equal(t, 7, strings.Count(list, "\n"), "header and 6 webhooks:\n%s", list)
	assert.Regexp(t, `(?m)^`+bearerID+`\s+My Webhook\s+active\s+closed\s+agent\.started,agent\.failed\s+https://example\.com/webhook\s+`+timeRE+`$`, list)
	byEvent := c.ok("list", "--event", "task.failed")
	assert.Equal(t, 2, strings.Count(byEvent, "\n"), byEvent)
	assert.Contains(t, byEvent, keyHook.ID)
	paged := c.ok("list", "--limit", "2")
	m := regexp.MustCompile(`(?m)^More results: webhooks list --limit 2 --cursor (\S+)$`).FindStringSubmatch(paged)
	require.NotNil(t, m, paged)
	seen := map[string]bool{}
	for _, id := range regexp.MustCompile(`(?m)^wh_[0-9a-f]{32}`).FindAllString(paged, -1) {
		seen[id] = true
	}
	for page := 2; m != nil; page++ {
		require.LessOrEqual(t, page, 4, "6 webhooks in pages of 2")
		next := c.ok("list", "--limit", "2", "--cursor", m[1])
		for _, id := range regexp.MustCompile(`(?m)^wh_[0-9a-f]{32}`).FindAllString(next, -1) {
			assert.False(t, seen[id], "%s on two pages", id)
			seen[id] = true
		}
		m = regexp.MustCompile(`(?m)^More results: webhooks list --limit 2 --cursor (\S+)$`).FindStringSubmatch(next)
	}
	assert.Len(t, seen, 6, "the pages cover every webhook once")
	var page struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	require.NoError(t, json.Unmarshal([]byte(c.ok("list", "--format", "json")), &page))
	assert.Len(t, page.Items, 6)

	// Info.
	info := c.ok("info", bearerID)
	assert.Equal(t, "My Webhook", row(t, info, "Name"))
	assert.Equal(t, "agent.started, agent.failed", row(t, info, "Events"))
	infoJSON := c.ok("info", bearerID, "--format", "json")
	var full map[string]any
	require.NoError(t, json.Unmarshal([]byte(infoJSON), &full))
	assert.Equal(t, bearerID, full["id"])
	assert.Equal(t, float64(10000), full["timeout_ms"])

	// Update: only the flags given change; a stale version is refused.
	updated := c.ok("update", bearerID, "--name", "Renamed", "--max-attempts", "7", "--if-match", "1")
	assert.Equal(t, "Renamed", row(t, updated, "Name"))
	assert.Equal(t, "linear, 7 attempts, initial delay 2s, max delay 10m0s", row(t, updated, "Retry"))
	assert.Equal(t, "X-Custom: value", row(t, updated, "Headers"), "untouched")
	assert.Equal(t, "2", row(t, updated, "Version"))
	c.fails(1, `error: conflict: webhook `+bearerID+` is at version 2, not 1; read it again and retry`,
		"update", bearerID, "--name", "Lost", "--if-match", "1")
	c.fails(1, `error: validation_failed: .*\(field url\)`, "update", bearerID, "--url", "ftp://example.com/")
	assert.Equal(t, "inactive (paused)", row(t, c.ok("update", bearerID, "--status", "inactive"), "Status"))

	// Pause and resume.
	assert.Equal(t, "Resumed webhook "+bearerID+" (Renamed): status active\n", c.ok("resume", bearerID))
	assert.Equal(t, "Paused webhook "+plainID+" (Plain): status inactive\n", c.ok("pause", plainID))
	inactive := c.ok("list", "--status", "inactive")
	assert.Equal(t, 2, strings.Count(inactive, "\n"), inactive)
	assert.Contains(t, inactive, plainID)
	assert.Equal(t, "Resumed webhook "+plainID+" (Plain): status active\n", c.ok("resume", plainID))

	// Stats of a webhook with no deliveries yet.
	stats := c.ok("stats", plainID)
	assert.Equal(t, "0", row(t, stats, "Total deliveries"))
	assert.Equal(t, "-", row(t, stats, "Success rate"), "no rate without deliveries")
	assert.Equal(t, "-", row(t, stats, "Avg response"))
	assert.Equal(t, "never", row(t, stats, "Last delivery"))
	var st map[string]any
	require.NoError(t, json.Unmarshal([]byte(c.ok("stats", plainID, "--format", "json")), &st))
	assert.Equal(t, float64(0), st["success_rate"])

	// Delete: refused without a terminal, done with --force, then gone.
	c.fails(2, `error: refusing to delete `+bearerID+` without --force: stdin is not a terminal \(see 'webhooks delete --help'\)`, "delete", bearerID)
	assert.Equal(t, "Deleted webhook "+bearerID+"\n", c.ok("delete", bearerID, "--force"))
	c.fails(1, `error: not_found: webhook `+bearerID+` not found`, "info", bearerID)
	c.fails(1, `error: not_found: webhook `+bearerID+` not found`, "delete", bearerID, "--force")
	assert.Equal(t, 6, strings.Count(c.ok("list"), "\n"))

	// The event side: two webhooks on a loopback receiver, one that accepts
	// and one that refuses (one attempt, so its deliveries fail at once).
	// Only they subscribe to workflow.*, so nothing leaves the machine.
	rcv := receiver(t)
	okID := createdID(t, c.ok("create", "--name", "Accepts", "--url", rcv+"/ok", "--events", "workflow.completed"))
	refuses := c.ok("create", "--name", "Refuses", "--url", rcv+"/fail", "--events", "workflow.completed,workflow.failed", "--max-attempts", "1")
	failID := createdID(t, refuses)
	assert.Equal(t, "exponential, 1 attempt, initial delay 1s, max delay 1m0s", row(t, refuses, "Retry"))

	// Trigger: a repeat with the same key answers the first answer and
	// triggers nothing; the key with another body is refused.
	triggered := regexp.MustCompile(`^Triggered (\S+) as (evt_[0-9a-f]{32}): (\d+) (delivery|deliveries) queued\n$`)
	first := c.ok("trigger", "--event", "workflow.completed", "--data", `{"run":42}`, "--metadata", `{"source":"e2e"}`, "--idempotency-key", "run-42")
	m = triggered.FindStringSubmatch(first)
	require.NotNil(t, m, first)
	assert.Equal(t, []string{"workflow.completed", "2", "deliveries"}, []string{m[1], m[3], m[4]})
	assert.Equal(t, first, c.ok("trigger", "--event", "workflow.completed", "--data", `{"run":42}`, "--metadata", `{"source":"e2e"}`, "--idempotency-key", "run-42"))
	c.fails(1, `error: conflict: this Idempotency-Key was already used with a different request \(field Idempotency-Key\)`,
		"trigger", "--event", "workflow.completed", "--data", `{"run":43}`, "--idempotency-key", "run-42")
	// Without a key every trigger is a new event.
	one, two := triggered.FindStringSubmatch(c.ok("trigger", "--event", "workflow.failed")), triggered.FindStringSubmatch(c.ok("trigger", "--event", "workflow.failed"))
	require.NotNil(t, one)
	require.NotNil(t, two)
	assert.Equal(t, "1 delivery", one[3]+" "+one[4])
	assert.NotEqual(t, one[2], two[2])
	var none struct {
		EventID    string `json:"event_id"`
		Deliveries *int   `json:"deliveries"`
	}
	require.NoError(t, json.Unmarshal([]byte(c.ok("trigger", "--event", "agent.stopped", "--format", "json")), &none))
	assert.Regexp(t, `^evt_[0-9a-f]{32}$`, none.EventID)
	require.NotNil(t, none.Deliveries)
	assert.Zero(t, *none.Deliveries, "nobody subscribes to agent.stopped")
	c.fails(1, `error: validation_failed: data must be a JSON object \(field data\)`, "trigger", "--event", "workflow.failed", "--data", `[1]`)
	c.fails(1, `error: validation_failed: unknown event "agent.exploded"; GET /events/types lists the supported events \(field event\)`,
		"trigger", "--event", "agent.exploded")

	// The pollers deliver: one success, three failures.
	c.waitDeliveries(okID, "succeeded", 1)
	c.waitDeliveries(failID, "failed", 3)

	// Test: synchronous; a failing endpoint is shown, not an error.
	tested := c.ok("test", okID)
	assert.Equal(t, "yes", row(t, tested, "Success"))
	assert.Equal(t, "200", row(t, tested, "Status"))
	assert.Regexp(t, `^\d+ms$`, row(t, tested, "Duration"))
	assert.Equal(t, `{"ok":true}`, row(t, tested, "Response"))
	assert.Regexp(t, `^dlv_[0-9a-f]{32}$`, row(t, tested, "Delivery"))
	tested = c.ok("test", failID)
	assert.Equal(t, "no: endpoint answered 500 Internal Server Error", row(t, tested, "Success"))
	assert.Equal(t, "500", row(t, tested, "Status"))
	assert.Equal(t, "refused", row(t, tested, "Response"))
	failedTest := row(t, tested, "Delivery")
	var res struct {
		Success  bool `json:"success"`
		Delivery struct {
			Status string `json:"status"`
			Test   bool   `json:"test"`
		} `json:"delivery"`
	}
	require.NoError(t, json.Unmarshal([]byte(c.ok("test", plainID, "--format", "json")), &res)) // nothing listens there
	assert.False(t, res.Success)
	assert.Equal(t, "failed", res.Delivery.Status)
	assert.True(t, res.Delivery.Test)
	c.fails(1, `error: not_found: webhook wh_nope not found`, "test", "wh_nope")

	// Stats count the event deliveries (not the tests) once recorded.
	stats = c.waitStats(okID, 1)
	assert.Equal(t, "1", row(t, stats, "Total deliveries"))
	assert.Equal(t, "1", row(t, stats, "Successful"))
	assert.Equal(t, "0", row(t, stats, "Failed"))
	assert.Equal(t, "100.0%", row(t, stats, "Success rate"))
	assert.Regexp(t, `^\d+ms$`, row(t, stats, "Avg response"))
	assert.Regexp(t, "^"+timeRE+"$", row(t, stats, "Last success"))
	assert.Equal(t, "never", row(t, stats, "Last failure"))
	stats = c.waitStats(failID, 3)
	assert.Equal(t, "3", row(t, stats, "Total deliveries"))
	assert.Equal(t, "0", row(t, stats, "Successful"))
	assert.Equal(t, "3", row(t, stats, "Failed"))
	assert.Equal(t, "0.0%", row(t, stats, "Success rate"))
	assert.Regexp(t, "^"+timeRE+"$", row(t, stats, "Last failure"))

	// Deliveries: newest first, filters, pages that keep the filter.
	list = c.ok("deliveries", failID)
	assert.Regexp(t, `(?m)^ID\s+EVENT\s+STATUS\s+ATTEMPTS\s+LAST CODE\s+LAST DURATION\s+CREATED$`, list)
	assert.Regexp(t, `\A[^\n]*\n`+failedTest+`\s+custom \(test\)\s+failed\s+1\s+500\s+\d+ms\s+`+timeRE+"\n", list, "the test is the newest")
	assert.Equal(t, 5, strings.Count(list, "\n"), "header, three events and a test:\n%s", list)
	assert.Equal(t, 4, strings.Count(list, " failed "), list)
	assert.Regexp(t, `(?m)^dlv_[0-9a-f]{32}\s+workflow\.completed\s+failed\s+1\s+500\s+\d+ms\s+`+timeRE+`$`, list)
	assert.Regexp(t, `(?m)^dlv_[0-9a-f]{32}\s+workflow\.completed\s+succeeded\s+1\s+200\s+\d+ms\s+`+timeRE+`$`, c.ok("deliveries", okID))
	assert.Equal(t, 1, strings.Count(c.ok("deliveries", failID, "--status", "succeeded"), "\n"), "header only")
	dlvRE := regexp.MustCompile(`(?m)^dlv_[0-9a-f]{32}`)
	nextRE := regexp.MustCompile(`(?m)^More results: webhooks deliveries ` + failID + ` --limit 2 --status failed --cursor (\S+)$`)
	paged = c.ok("deliveries", failID, "--status", "failed", "--limit", "2")
	ids := dlvRE.FindAllString(paged, -1)
	require.Len(t, ids, 2, paged)
	m = nextRE.FindStringSubmatch(paged)
	require.NotNil(t, m, paged)
	paged = c.ok("deliveries", failID, "--status", "failed", "--limit", "2", "--cursor", m[1])
	ids = append(ids, dlvRE.FindAllString(paged, -1)...)
	assert.NotContains(t, paged, "More results", "the last page")
	require.Len(t, ids, 4)
	assert.ElementsMatch(t, ids, dlvRE.FindAllString(list, -1), "the pages cover every failed delivery once")
	var dpage struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
		NextCursor string `json:"next_cursor"`
	}
	require.NoError(t, json.Unmarshal([]byte(c.ok("deliveries", failID, "--limit", "1", "--format", "json")), &dpage))
	require.Len(t, dpage.Items, 1)
	assert.Equal(t, failedTest, dpage.Items[0].ID)
	assert.NotEmpty(t, dpage.NextCursor)
	c.fails(1, `error: validation_failed: status must be pending, retrying, held, succeeded or failed \(field status\)`, "deliveries", failID, "--status", "lost")
	c.fails(1, `error: validation_failed: limit must be a whole number from 1 to 100 \(field limit\)`, "deliveries", failID, "--limit", "0")
	c.fails(1, `error: validation_failed: .* \(field cursor\)`, "deliveries", failID, "--cursor", "nope")
	c.fails(1, `error: validation_failed: .* \(field cursor\)`, "deliveries", failID, "--status", "succeeded", "--cursor", m[1])
	c.fails(1, `error: not_found: webhook wh_nope not found`, "deliveries", "wh_nope")

	// One delivery, with its attempts.
	failedEvent := ids[len(ids)-1] // the oldest: workflow.completed of run 42
	detail := c.ok("delivery", failID, failedEvent)
	assert.Equal(t, failedEvent, row(t, detail, "ID"))
	assert.Equal(t, failID, row(t, detail, "Webhook"))
	assert.Equal(t, first[strings.Index(first, "evt_"):strings.Index(first, ":")], row(t, detail, "Event ID"))
	assert.Equal(t, "workflow.completed", row(t, detail, "Event"))
	assert.Equal(t, "failed", row(t, detail, "Status"))
	assert.Equal(t, "1", row(t, detail, "Attempts"))
	assert.Regexp(t, "^"+timeRE+"$", row(t, detail, "Completed"))
	assert.Regexp(t, `(?m)^1\s+`+timeRE+`\s+500\s+\d+ms\s+(reused|connect [\d.]+ms) first byte [\d.]+ms\s+endpoint answered 500 Internal Server Error; attempts exhausted \(1 of 1\)\s+refused$`, detail)
	c.fails(1, `error: not_found: .*`, "delivery", failID, "dlv_00000000000000000000000000000000")
	c.fails(1, `error: not_found: .*`, "delivery", okID, failedEvent)

	// Retry: a failed delivery goes again under its id (and fails again,
	// with a second attempt); any other is refused with the API's reason.
	assert.Equal(t, "Queued delivery "+failedEvent+" of webhook "+failID+" again: attempt 2 next, status pending\n",
		c.ok("retry", "--webhook", failID, "--delivery", failedEvent))
	again := c.waitAttempts(failID, failedEvent, 2)
	assert.Equal(t, "failed", row(t, again, "Status"))
	assert.Regexp(t, `(?m)^2\s+`+timeRE+`\s+500\s+\d+ms\s+(reused|connect [\d.]+ms) first byte [\d.]+ms\s+endpoint answered 500 Internal Server Error; attempts exhausted \(1 of 1\)\s+refused$`, again)
	succeeded := dlvRE.FindString(c.ok("deliveries", okID, "--status", "succeeded", "--limit", "1"))
	c.fails(1, `error: conflict: delivery `+succeeded+` is succeeded; only a failed delivery can be retried`,
		"retry", "--webhook", okID, "--delivery", succeeded)
	c.fails(1, `error: not_found: .*`, "retry", "--webhook", failID, "--delivery", "dlv_00000000000000000000000000000000")

	// Bad usage and unknown ids.
	c.fails(2, `error: required flag\(s\) "events" not set \(see 'webhooks create --help'\)`, "create", "--name", "x", "--url", "https://example.com")
	c.fails(2, `error: --data: malformed JSON: .*`, "trigger", "--event", "custom", "--data", `{"message":`)
	c.fails(2, `error: --headers: malformed JSON: .*`, "create", "--name", "x", "--url", "https://example.com", "--events", "custom", "--headers", "{")
	c.fails(2, `error: unknown flag: --colour \(see 'webhooks list --help'\)`, "list", "--colour")
	c.fails(2, `error: unknown command "frobnicate" for "webhooks" \(see 'webhooks --help'\)`, "frobnicate")
	c.fails(1, `error: not_found: webhook wh_nope not found`, "info", "wh_nope")
	c.fails(1, `error: validation_failed: unknown event "agent.exploded" \(see GET /events/types\) \(field events\)`,
		"create", "--name", "x", "--url", "https://example.com", "--events", "agent.exploded")
	c.fails(1, `error: validation_failed: .*\(field event\)`, "list", "--event", "agent.exploded")

	// Nothing listens: one line, exit 1.
	down := runner{t: t, bin: c.bin, url: "http://127.0.0.1:1"}
	down.fails(1, `error: GET http://127\.0\.0\.1:1/webhooks: dial tcp 127\.0\.0\.1:1: connect: connection refused`, "list")
}

// waitDeliveries waits until the webhook has n deliveries with status. The
// pollers deliver within moments; the bound only stops a broken pipeline
// from hanging the test.
func (c runner) waitDeliveries(id, status string, n int) {
	c.t.Helper()
	c.waitFor(func() (bool, string) {
		out := c.ok("deliveries", id, "--status", status, "--format", "json")
		var p struct {
			Items []json.RawMessage `json:"items"`
		}
		require.NoError(c.t, json.Unmarshal([]byte(out), &p), out)
		return len(p.Items) >= n, out
	}, "%d %s deliveries of %s", n, status, id)
}

// waitStats waits until the webhook has n deliveries counted (counters are
// added after a batch's attempts are recorded) and returns the stats table.
func (c runner) waitStats(id string, n int) string {
	c.t.Helper()
	var table string
	c.waitFor(func() (bool, string) {
		var st struct {
			Total int `json:"total_deliveries"`
		}
		out := c.ok("stats", id, "--format", "json")
		require.NoError(c.t, json.Unmarshal([]byte(out), &st), out)
		return st.Total >= n, out
	}, "%d deliveries of %s counted", n, id)
	table = c.ok("stats", id)
	return table
}

// waitAttempts waits until a delivery has n attempts and is final, and
// returns its table.
func (c runner) waitAttempts(id, dlv string, n int) string {
	c.t.Helper()
	c.waitFor(func() (bool, string) {
		var d struct {
			Status   string            `json:"status"`
			Attempts []json.RawMessage `json:"attempts"`
		}
		out := c.ok("delivery", id, dlv, "--format", "json")
		require.NoError(c.t, json.Unmarshal([]byte(out), &d), out)
		return len(d.Attempts) >= n && (d.Status == "succeeded" || d.Status == "failed"), out
	}, "delivery %s to end with %d attempts", dlv, n)
	return c.ok("delivery", id, dlv)
}

func (c runner) waitFor(done func() (bool, string), format string, args ...any) {
	c.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ok, last := done()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("gave up waiting for "+format+"; last answer: %s", append(args, last)...)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
