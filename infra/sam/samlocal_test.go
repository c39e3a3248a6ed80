//go:build samlocal

// The SAM CLI's local commands, with the functions `sam build` made running
// in SAM's Docker containers, against the local emulator. `make
// test-sam-local` (infra/sam/local.sh test) sets up Docker, builds, and runs
// these with SAM_LOCAL_* set; they are not part of `go test ./...`.

package sam

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/google/uuid"
	"github.com/guregu/dynamo/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/cleanup"
	"github.com/systemprompt-io/webhooks/internal/devtools/localaws"
	"github.com/systemprompt-io/webhooks/internal/queue"
	"github.com/systemprompt-io/webhooks/internal/signing"
	"github.com/systemprompt-io/webhooks/internal/store"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// sampleWebhook is the webhook id the sample events in events/ name, and
// sampleDelivery the delivery of delivery-sqs-job.json.
const (
	sampleWebhook  = "wh_0192f0c4a1b27c3d8e9f001122334455"
	sampleDelivery = "dlv_0194218c6e0071a2b3c4d5e6f7a8b9c0"
)

// bound is how long a test waits for something that must happen (SAM's
// containers run arm64 code, emulated on other machines); reaching it fails
// the test. It is not a timing assertion.
const bound = 5 * time.Minute

// samLocal is what infra/sam/local.sh set up.
type samLocal struct {
	root     string // the repository
	template string // the template sam local runs
	host     string // where SAM's containers reach this machine
	localSh  string
	samSh    string
}

func setup(t *testing.T) samLocal {
	t.Helper()
	s := samLocal{template: os.Getenv("SAM_LOCAL_TEMPLATE"), host: os.Getenv("SAM_LOCAL_HOST"), localSh: os.Getenv("SAM_LOCAL_SH")}
	if s.template == "" || s.host == "" || s.localSh == "" {
		t.Fatal("SAM_LOCAL_TEMPLATE, SAM_LOCAL_HOST and SAM_LOCAL_SH are not set: run `make test-sam-local`")
	}
	s.samSh = filepath.Join(filepath.Dir(s.localSh), "sam.sh")
	var err error
	s.root, err = filepath.Abs("../..")
	require.NoError(t, err)
	return s
}

// listen returns a listener on the address SAM's containers reach.
func (s samLocal) listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(s.host, "0"))
	require.NoError(t, err)
	return ln
}

// invoke runs `sam local invoke FN --event events/FILE` and returns what the
// function answered (stdout) and its logs (stderr).
func (s samLocal) invoke(t *testing.T, envVars, fn, file string) ([]byte, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.samSh, "exec", "local", "invoke", "--template", s.template, "--env-vars", envVars,
		"--skip-pull-image", fn, "--event", filepath.Join("events", file))
	cmd.Dir = s.root
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	require.NoError(t, err, "sam local invoke %s %s\n%s", fn, file, stderr.String())
	out := bytes.TrimSpace(stdout.Bytes())
	require.NotEmpty(t, out, "sam local invoke %s %s answered nothing\n%s", fn, file, stderr.String())
	t.Logf("sam local invoke %s %s: %.1f s", fn, file, time.Since(start).Seconds())
	return out, stderr.String()
}

// receiver records the requests a webhook's deliveries make.
type receiver struct {
	*httptest.Server
	mu   sync.Mutex
	got  []*http.Request
	body [][]byte
	hit  chan struct{}
}

func (s samLocal) receiver(t *testing.T) *receiver {
	t.Helper()
	r := &receiver{hit: make(chan struct{}, 100)}
	r.Server = &httptest.Server{Listener: s.listen(t), Config: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, req)
		r.body = append(r.body, b)
		r.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
		r.hit <- struct{}{}
	})}}
	r.Start()
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) wait(t *testing.T, n int) ([]*http.Request, [][]byte) {
	t.Helper()
	deadline := time.After(bound)
	for {
		r.mu.Lock()
		got, body := r.got, r.body
		r.mu.Unlock()
		if len(got) >= n {
			return got, body
		}
		select {
		case <-r.hit:
		case <-deadline:
			t.Fatalf("the receiver got %d of %d requests", len(got), n)
		}
	}
}

// find waits until a request that match accepts has arrived, and returns it
// with its body.
func (r *receiver) find(t *testing.T, match func(*http.Request) bool) (*http.Request, []byte) {
	t.Helper()
	deadline := time.After(bound)
	for {
		r.mu.Lock()
		for i, g := range r.got {
			if match(g) {
				defer r.mu.Unlock()
				return g, r.body[i]
			}
		}
		n := len(r.got)
		r.mu.Unlock()
		select {
		case <-r.hit:
		case <-deadline:
			t.Fatalf("none of the receiver's %d requests is the one awaited", n)
		}
	}
}

// writeEnvVars writes a `sam local --env-vars` file.
func writeEnvVars(t *testing.T, v map[string]map[string]string) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	p := filepath.Join(t.TempDir(), "env.json")
	require.NoError(t, os.WriteFile(p, b, 0o600))
	return p
}

// errorBody is the API's error JSON.
type errorBody struct {
	Error struct {
		Code, Message, Field string
	}
}

// Every file in events/ through `sam local invoke` of its function, against
// the emulator: the answers, and what they did there.
func TestSAMLocalInvokeEveryEvent(t *testing.T) {
	s := setup(t)
	ctx := context.Background()
	sfx := uuid.NewString()[:8]
	stack, err := localaws.Start(ctx, localaws.Options{
		Listen:      net.JoinHostPort(s.host, "0"),
		Tables:      store.Tables{Webhooks: "sl-wh-" + sfx, Deliveries: "sl-dl-" + sfx},
		KeyAlias:    "alias/sl-" + sfx,
		QueuePrefix: "sl-" + sfx + "-",
	})
	require.NoError(t, err)
	t.Cleanup(stack.Close)
	st := store.New(stack.Clients.DynamoDB, stack.Tables)
	rcv := s.receiver(t)

	// The cleanup function sweeps tables of its own, seeded below, with TTL
	// off: the emulator's TTL reaper (every 30 s) would otherwise race the
	// sweep for the expired deliveries.
	cleanTables := store.Tables{Webhooks: "sl-cl-wh-" + sfx, Deliveries: "sl-cl-dl-" + sfx}
	for _, def := range store.Definitions(cleanTables) {
		_, err := stack.Clients.DynamoDB.CreateTable(ctx, def)
		require.NoError(t, err)
	}
	envVars := writeEnvVars(t, map[string]map[string]string{
		"Parameters": stack.Env(),
		// As deployed: private targets refused by the API...
		"ApiFunction": {"ALLOW_PRIVATE_TARGETS": "false"},
		// ...allowed for deliveries, whose receiver is on this machine; the
		// sample job was created in 2025: keep it within retention.
		"DeliveryFunction": {"ALLOW_PRIVATE_TARGETS": "true", "RETENTION_DAYS": "3650"},
		"CleanupFunction":  {"TABLE_WEBHOOKS": cleanTables.Webhooks, "TABLE_DELIVERIES": cleanTables.Deliveries, "RETENTION_DAYS": "30", "CLEANUP_GRACE_DAYS": "2"},
	})

	files, err := filepath.Glob(filepath.Join(s.root, "events", "*.json"))
	require.NoError(t, err)
	var mu sync.Mutex
	done := map[string]bool{}
	invoke := func(t *testing.T, fn, file string) ([]byte, string) {
		t.Helper()
		out, logs := s.invoke(t, envVars, fn, file)
		mu.Lock()
		done[file] = true
		mu.Unlock()
		return out, logs
	}
	api := func(t *testing.T, file string) (events.APIGatewayV2HTTPResponse, []byte) {
		t.Helper()
		out, logs := invoke(t, "ApiFunction", file)
		var resp events.APIGatewayV2HTTPResponse
		require.NoError(t, json.Unmarshal(out, &resp), "%s: %s\n%s", file, out, logs)
		assert.Equal(t, "application/json; charset=utf-8", resp.Headers["Content-Type"], file)
		assert.NotContains(t, logs, "secret-token-123", "credentials are never logged")
		return resp, []byte(resp.Body)
	}
	delivery := func(t *testing.T, file string) events.SQSEventResponse {
		t.Helper()
		out, logs := invoke(t, "DeliveryFunction", file)
		var resp events.SQSEventResponse
		require.NoError(t, json.Unmarshal(out, &resp), "%s: %s\n%s", file, out, logs)
		return resp
	}
	// jobs receives n jobs from the delivery queue (and deletes them).
	jobs := func(t *testing.T, n int) []queue.Job {
		t.Helper()
		var got []queue.Job
		deadline := time.Now().Add(bound)
		for len(got) < n && time.Now().Before(deadline) {
			out, err := stack.Clients.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
				QueueUrl: aws.String(stack.Queues.DeliveryQueue), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
			require.NoError(t, err)
			for _, m := range out.Messages {
				j, err := queue.DecodeJob(aws.ToString(m.Body))
				require.NoError(t, err)
				got = append(got, j)
				_, err = stack.Clients.SQS.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(stack.Queues.DeliveryQueue), ReceiptHandle: m.ReceiptHandle})
				require.NoError(t, err)
			}
		}
		require.Len(t, got, n, "jobs queued")
		return got
	}

	// ---- ApiFunction. The subtests run in parallel (go test -parallel),
	// except the webhooks' life, which runs in order.
	t.Run("ApiFunction", func(t *testing.T) {
		t.Run("webhooks", func(t *testing.T) {
			t.Parallel()
			resp, body := api(t, "api-create-webhook.json")
			require.Equal(t, 201, resp.StatusCode, string(body))
			var created struct{ ID, Name string }
			require.NoError(t, json.Unmarshal(body, &created))
			assert.Equal(t, "/webhooks/"+created.ID, resp.Headers["Location"])
			assert.NotContains(t, string(body), "secret-token-123", "credentials are masked")
			w, err := st.GetWebhook(ctx, created.ID)
			require.NoError(t, err, "the webhook is in the emulator's table")
			assert.Equal(t, "Deploy notifications", w.Name)
			assert.Equal(t, []string{"agent.started", "agent.failed"}, w.Events)

			resp, body = api(t, "api-create-webhook-base64.json")
			require.Equal(t, 201, resp.StatusCode, string(body))
			var signed struct {
				ID              string
				AuthCredentials map[string]string `json:"auth_credentials"`
			}
			require.NoError(t, json.Unmarshal(body, &signed))
			assert.True(t, strings.HasPrefix(signed.AuthCredentials["secret"], webhook.SecretPrefix), "a generated secret, shown once")

			// Only these two: no refused request created one.
			resp, body = api(t, "api-list-webhooks.json")
			assert.Equal(t, 200, resp.StatusCode)
			var list struct{ Items []struct{ ID string } }
			require.NoError(t, json.Unmarshal(body, &list))
			var ids []string
			for _, it := range list.Items {
				ids = append(ids, it.ID)
			}
			assert.ElementsMatch(t, []string{created.ID, signed.ID}, ids)

			// Of the two only the first subscribes to agent.started: one job
			// queued for it.
			resp, body = api(t, "api-trigger-event.json")
			require.Equal(t, 202, resp.StatusCode, string(body))
			var trig struct {
				EventID    string `json:"event_id"`
				Deliveries int
			}
			require.NoError(t, json.Unmarshal(body, &trig))
			assert.Equal(t, 1, trig.Deliveries)
			j := jobs(t, 1)[0]
			assert.Equal(t, created.ID, j.WebhookID)
			assert.Equal(t, trig.EventID, j.EventID)
			assert.Equal(t, "agent.started", j.Event)
		})
		t.Run("api-healthz.json", func(t *testing.T) {
			t.Parallel()
			resp, body := api(t, "api-healthz.json")
			assert.Equal(t, 200, resp.StatusCode)
			assert.JSONEq(t, `{"status":"ok"}`, string(body), "the tables and key answer")
		})
		t.Run("api-event-types.json", func(t *testing.T) {
			t.Parallel()
			resp, body := api(t, "api-event-types.json")
			assert.Equal(t, 200, resp.StatusCode)
			var types struct{ Items []webhook.EventType }
			require.NoError(t, json.Unmarshal(body, &types))
			assert.Equal(t, webhook.EventTypes(), types.Items)
		})
		for _, e := range []struct {
			file        string
			status      int
			code, field string
		}{
			{"api-create-invalid-json.json", 400, webhook.EInvalid, ""},
			{"api-create-invalid-url.json", 400, webhook.EInvalid, "url"},
			{"api-create-private-target.json", 400, webhook.EInvalid, "url"},
			{"api-create-unknown-field.json", 400, webhook.EInvalid, "secret"},
			{"api-list-invalid-limit.json", 400, webhook.EInvalid, "limit"},
			{"api-trigger-unknown-event.json", 400, webhook.EInvalid, "event"},
			{"api-list-deliveries.json", 404, webhook.ENotFound, ""}, // the sample webhook is not there yet
			{"api-get-missing.json", 404, webhook.ENotFound, ""},
			{"api-get-malformed-id.json", 404, webhook.ENotFound, ""},
			{"api-patch-missing.json", 404, webhook.ENotFound, ""},
			{"api-delete-missing.json", 404, webhook.ENotFound, ""},
			{"api-pause-missing.json", 404, webhook.ENotFound, ""},
			{"api-method-not-allowed.json", 405, "method_not_allowed", ""},
			{"api-unknown-route.json", 404, "not_found", ""},
		} {
			t.Run(e.file, func(t *testing.T) {
				t.Parallel()
				resp, body := api(t, e.file)
				assert.Equal(t, e.status, resp.StatusCode, string(body))
				var eb errorBody
				require.NoError(t, json.Unmarshal(body, &eb), string(body))
				assert.Equal(t, e.code, eb.Error.Code, string(body))
				assert.Equal(t, e.field, eb.Error.Field, string(body))
				assert.NotEmpty(t, eb.Error.Message)
			})
		}
	})

	// ---- DeliveryFunction and CleanupFunction, with the sample webhook
	// pointed at the receiver.
	now := time.Now().UTC()
	require.NoError(t, st.CreateWebhook(ctx, &webhook.Webhook{
		ID: sampleWebhook, Name: "sample", URL: rcv.URL + "/hook", Method: "POST",
		Events: []string{"agent.started", "workflow.completed", "custom"}, Status: webhook.StatusActive,
		AuthType: webhook.AuthNone, Retry: webhook.DefaultRetryPolicy(), TimeoutMS: 5000, CreatedAt: now, UpdatedAt: now,
	}))
	t.Run("DeliveryFunction", func(t *testing.T) {
		// A job: attempted at the receiver, recorded as succeeded.
		t.Run("delivery-sqs-job.json", func(t *testing.T) {
			t.Parallel()
			assert.Empty(t, delivery(t, "delivery-sqs-job.json").BatchItemFailures)
			// The event tests beside it deliver to the same receiver.
			got, _ := rcv.find(t, func(r *http.Request) bool { return r.Header.Get("X-Webhook-Delivery") == sampleDelivery })
			assert.Equal(t, sampleWebhook, got.Header.Get("X-Webhook-Id"))
			assert.Equal(t, "agent.started", got.Header.Get("X-Webhook-Event"))
			d, err := st.GetDelivery(ctx, sampleWebhook, sampleDelivery)
			require.NoError(t, err)
			assert.Equal(t, webhook.DeliverySucceeded, d.Status)
			require.Len(t, d.Attempts, 1)
			assert.Equal(t, 204, d.Attempts[0].StatusCode)
		})
		// Each event shape fans out into a delivery, attempted in place
		// (counted below).
		for _, f := range []string{"delivery-sqs-native.json", "delivery-sqs-eventbridge.json", "delivery-sqs-sns.json"} {
			t.Run(f, func(t *testing.T) {
				t.Parallel()
				assert.Empty(t, delivery(t, f).BatchItemFailures)
			})
		}
		// Garbage beside a good event: only the garbage fails.
		t.Run("delivery-sqs-garbage.json", func(t *testing.T) {
			t.Parallel()
			r := delivery(t, "delivery-sqs-garbage.json")
			require.Len(t, r.BatchItemFailures, 1)
			assert.Equal(t, "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", r.BatchItemFailures[0].ItemIdentifier)
		})
		// Of one webhook's deliveries, those past retention (30 days) and
		// its grace (2) go; written by a store whose clock is a year back,
		// when all were within retention.
		t.Run("cleanup-schedule.json", func(t *testing.T) {
			t.Parallel()
			writer := store.New(stack.Clients.DynamoDB, cleanTables, store.WithRetentionDays(30),
				store.WithClock(func() time.Time { return now.AddDate(-1, 0, 0) }))
			wh := webhook.NewID(webhook.WebhookIDPrefix)
			require.NoError(t, dynamo.NewFromIface(stack.Clients.DynamoDB).Table(cleanTables.Webhooks).Put(map[string]any{
				"pk": "wh#" + wh, "sk": "config", "kind": "webhook", "id": wh, "wh_status": "active",
			}).Run(ctx))
			save := func(days int, evt string) *webhook.Delivery {
				created := now.Add(-time.Duration(days) * 24 * time.Hour)
				d := &webhook.Delivery{
					ID: webhook.DeliveryIDFor(evt, wh, created), WebhookID: wh, EventID: evt,
					Event: "agent.completed", Status: webhook.DeliverySucceeded, CreatedAt: created,
					Attempts: []webhook.Attempt{{Attempt: 1, StartedAt: created, StatusCode: 200, DurationMS: 12}},
				}
				require.NoError(t, writer.SaveAttempt(ctx, d))
				return d
			}
			old := []*webhook.Delivery{save(33, "evt_olda"), save(200, "evt_oldb")}
			fresh := save(1, "evt_new")
			out, logs := invoke(t, "CleanupFunction", "cleanup-schedule.json")
			var res cleanup.Result
			require.NoError(t, json.Unmarshal(out, &res), "%s\n%s", out, logs)
			assert.Equal(t, len(old), res.Deleted, string(out))
			assert.True(t, res.Complete)
			assert.Equal(t, 1, res.Webhooks)
			reader := store.New(stack.Clients.DynamoDB, cleanTables, store.WithRetentionDays(3650))
			for _, d := range old {
				_, err := reader.GetDelivery(ctx, wh, d.ID)
				assert.Equal(t, webhook.ENotFound, webhook.ErrorCode(err), "deleted: created %s", d.CreatedAt)
			}
			_, err := reader.GetDelivery(ctx, wh, fresh.ID)
			assert.NoError(t, err, "kept: within retention")
		})
	})
	// The fan-outs are attempted in place by the invocation that fans them
	// out (internal/delivery/inline.go): the three workflow.completed
	// events and garbage's good custom event arrive at the sample webhook's
	// receiver, beside the job's agent.started.
	got, _ := rcv.wait(t, 5)
	var arrived []string
	for _, r := range got {
		assert.Equal(t, sampleWebhook, r.Header.Get("X-Webhook-Id"))
		arrived = append(arrived, r.Header.Get("X-Webhook-Event"))
	}
	assert.ElementsMatch(t, []string{"agent.started", "workflow.completed", "workflow.completed", "workflow.completed", "custom"}, arrived)
	// None of them went through the DeliveryQueue. What may be there is a
	// retry of the custom event's delivery to the API's "Signed" webhook,
	// whose example.com endpoint cannot be reached from here.
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		out, err := stack.Clients.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(stack.Queues.DeliveryQueue), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		require.NoError(t, err)
		for _, m := range out.Messages {
			j, err := queue.DecodeJob(aws.ToString(m.Body))
			require.NoError(t, err)
			assert.NotEqual(t, sampleWebhook, j.WebhookID, "the sample webhook's deliveries were attempted in place")
			assert.Equal(t, "custom", j.Event)
			assert.GreaterOrEqual(t, j.Attempt, 2, "only a retry is queued")
		}
	}

	for _, f := range files {
		assert.True(t, done[filepath.Base(f)], "events/%s was not invoked: add it here", filepath.Base(f))
	}
}

// freePort returns a port nothing listens on now.
func freePort(t *testing.T, host string) int {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// syncBuffer is a bytes.Buffer safe for a process's output goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// samContainers lists SAM's function containers.
func samContainers(t *testing.T) []string {
	t.Helper()
	out, err := exec.Command("docker", "ps", "-aq", "--filter", "label=sam.cli.container.type=lambda").Output()
	require.NoError(t, err)
	return strings.Fields(string(out))
}

// `make sam-api` (local.sh api): API Gateway's local emulation of the API
// function, the delivery function fed from the emulator's queues by
// `sam local start-lambda`. A webhook's life: create, list, trigger, the
// delivery arrives signed at the receiver and is recorded, delete. Then a
// stop leaves nothing running.
func TestSAMLocalStartAPI(t *testing.T) {
	s := setup(t)
	before := samContainers(t)
	apiPort, lambdaPort, emuPort := freePort(t, "127.0.0.1"), freePort(t, "127.0.0.1"), freePort(t, s.host)
	cmd := exec.Command(s.localSh, "api")
	cmd.Dir = s.root
	cmd.Env = append(os.Environ(),
		"SAM_API_PORT="+strconv.Itoa(apiPort), "SAM_LAMBDA_PORT="+strconv.Itoa(lambdaPort), "EMULATOR_PORT="+strconv.Itoa(emuPort),
		"WEBHOOKS_DATA_DIR=memory", "SAM_ENV_VARS="+filepath.Join(t.TempDir(), "env.json"), "SAM_LOCAL_NO_BUILD=1")
	stderr := &syncBuffer{}
	pr, pw := io.Pipe()
	cmd.Stderr = io.MultiWriter(stderr, pw)
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); pw.Close() }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(bound):
			_ = cmd.Process.Kill()
			t.Errorf("local.sh api did not stop\n%s", stderr.String())
		}
	}
	t.Cleanup(stop)
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if sc.Text() == "Ctrl-C stops them all." {
				close(ready)
				break
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	start := time.Now()
	select {
	case <-ready:
	case err := <-exited:
		t.Fatalf("local.sh api exited: %v\n%s", err, stderr.String())
	case <-time.After(bound):
		t.Fatalf("local.sh api not up\n%s", stderr.String())
	}
	t.Logf("sam-api up in %.1f s", time.Since(start).Seconds())
	base := fmt.Sprintf("http://127.0.0.1:%d", apiPort)
	call := func(method, path, body string) (int, map[string]any) {
		t.Helper()
		req, err := http.NewRequest(method, base+path, strings.NewReader(body))
		require.NoError(t, err)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		// No SigV4 signature: SAM does not emulate the IAM authorizer.
		c := &http.Client{Timeout: bound}
		resp, err := c.Do(req)
		require.NoError(t, err, stderr.String())
		defer resp.Body.Close()
		raw, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		var out map[string]any
		if len(raw) > 0 {
			require.NoError(t, json.Unmarshal(raw, &out), "%s %s: %s", method, path, raw)
		}
		return resp.StatusCode, out
	}

	rcv := s.receiver(t)
	code, body := call("POST", "/webhooks", `{"name":"sam-api","url":"`+rcv.URL+`/hook","events":["custom"],"auth_type":"hmac"}`)
	require.Equal(t, 201, code, body)
	id := body["id"].(string)
	secret := body["auth_credentials"].(map[string]any)["secret"].(string)

	code, body = call("GET", "/webhooks?event=custom", "")
	require.Equal(t, 200, code, body)
	items := body["items"].([]any)
	require.Len(t, items, 1)
	assert.Equal(t, id, items[0].(map[string]any)["id"])

	code, body = call("POST", "/events", `{"event":"custom","data":{"via":"sam local start-api"}}`)
	require.Equal(t, 202, code, body)
	assert.EqualValues(t, 1, body["deliveries"])

	// The emulator's poller hands the job to DeliveryFunction in start-lambda.
	got, bodies := rcv.wait(t, 1)
	assert.Equal(t, id, got[0].Header.Get("X-Webhook-Id"))
	key, err := signing.Key(secret)
	require.NoError(t, err)
	assert.Equal(t, signing.Seed(key, bodies[0]), got[0].Header.Get("X-Webhook-Signature"), "signed with the webhook's secret")
	assert.Contains(t, string(bodies[0]), `"via":"sam local start-api"`)
	delivery := got[0].Header.Get("X-Webhook-Delivery")
	var status string
	deadline := time.Now().Add(bound)
	// Recorded once the receiver has answered: not found until then.
	for status != "succeeded" && time.Now().Before(deadline) {
		code, body = call("GET", "/webhooks/"+id+"/deliveries/"+delivery, "")
		require.Contains(t, []int{200, 404}, code, body)
		status, _ = body["status"].(string)
	}
	assert.Equal(t, "succeeded", status, "recorded through the API: %v", body)

	code, _ = call("DELETE", "/webhooks/"+id, "")
	require.Equal(t, 204, code)
	code, body = call("GET", "/webhooks/"+id, "")
	assert.Equal(t, 404, code, body)

	// A stop stops everything it started.
	stop()
	assert.ElementsMatch(t, before, samContainers(t), "no container of SAM's left")
	for _, p := range []int{apiPort, lambdaPort} {
		_, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)), time.Second)
		assert.Error(t, err, "nothing listens on %d after the stop", p)
	}
	_, err = net.DialTimeout("tcp", net.JoinHostPort(s.host, strconv.Itoa(emuPort)), time.Second)
	assert.Error(t, err, "the emulator stopped")
}
