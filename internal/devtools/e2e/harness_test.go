package e2e

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
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/app"
	"github.com/systemprompt-io/webhooks/internal/awsx"
	"github.com/systemprompt-io/webhooks/internal/config"
	"github.com/systemprompt-io/webhooks/internal/delivery"
	"github.com/systemprompt-io/webhooks/internal/devtools/fake"
	"github.com/systemprompt-io/webhooks/internal/devtools/localaws"
	"github.com/systemprompt-io/webhooks/internal/devtools/testenv"
	"github.com/systemprompt-io/webhooks/internal/httpapi"
	"github.com/systemprompt-io/webhooks/internal/queue"
	"github.com/systemprompt-io/webhooks/internal/recovery"
	"github.com/systemprompt-io/webhooks/internal/store"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// backends are the stand-ins every end-to-end test runs on: the embedded
// emulator, and the reference pair (moto's DynamoDB + ElasticMQ) when started.
func backends(t *testing.T) []testenv.Backend {
	bs := []testenv.Backend{testenv.Kumo(t)}
	if testenv.Strict() || haveReference() {
		bs = append(bs, testenv.Reference(t))
	}
	return bs
}

// forEachBackend runs fn on a fresh stack per backend, in parallel.
func forEachBackend(t *testing.T, opt stackOptions, fn func(t *testing.T, s *stack)) {
	t.Helper()
	for _, b := range backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			fn(t, newStack(t, b, opt))
		})
	}
}

type stackOptions struct {
	// visibility is the queues' visibility timeout in seconds: how soon a
	// failed message comes back (default 2, so crash tests are quick).
	visibility int
	// allowPrivate lets webhooks target loopback receivers (default true);
	// the dial-guard tests turn it off.
	denyPrivate bool
	// wrap wraps the delivery handler of the stack that t runs on, to
	// simulate a crashing Lambda.
	wrap func(t *testing.T, h localaws.SQSHandler) localaws.SQSHandler
	// noESM: the test drives the queues itself.
	noESM bool
	// now is the delivery function's clock (nil: time.Now).
	now func() time.Time
	// apiDenyPrivate makes the API refuse private targets, as in AWS
	// (default: allowed, so webhooks can reach loopback receivers).
	apiDenyPrivate bool
	// tokenClock gives the pipeline's OAuth 2.0 tokens a clock of their own
	// (stack.tokenClock), which the test moves on to expire them.
	tokenClock bool
	// configure changes the functions' configuration (the circuit breaker's
	// settings, say) before the stack is built.
	configure func(c *config.Config)
	// recoveryStore wraps the store bulk recovery uses, to simulate a
	// function dying part-way through a page (recovery_test.go).
	recoveryStore func(recovery.Store) recovery.Store
}

// stack is one isolated deployment on a backend: its own tables, queues and
// key, the real pipeline and API, and pollers playing the event source
// mappings.
type stack struct {
	t        *testing.T
	bus      string // the operational events' EventBridge bus
	clients  *awsx.Clients
	cfg      config.Config
	urls     queue.URLs
	pipeline *app.Pipeline
	api      http.Handler
	store    *store.Store
	// tokenClock is the tokens' clock, with stackOptions.tokenClock.
	tokenClock *fake.Clock
	// logs holds everything the stack logged.
	logs *logBuffer
}

func newStack(t *testing.T, b testenv.Backend, opt stackOptions) *stack {
	t.Helper()
	ctx := context.Background()
	sfx := randHex(t)
	tables := store.Tables{Webhooks: "wh-" + sfx, Deliveries: "dl-" + sfx}
	require.NoError(t, store.CreateTables(ctx, b.Clients.DynamoDB, tables))
	t.Cleanup(func() {
		for _, n := range []string{tables.Webhooks, tables.Deliveries} {
			_, _ = b.Clients.DynamoDB.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(n)})
		}
	})

	vis := opt.visibility
	if vis == 0 {
		vis = 2
	}
	defs := queue.Definitions("t" + sfx + "-")
	for i := range defs {
		if defs[i].DeadLetter != "" {
			defs[i].Attributes["VisibilityTimeout"] = strconv.Itoa(vis)
			defs[i].Attributes["ReceiveMessageWaitTimeSeconds"] = "1"
		}
	}
	urls, err := queue.EnsureDefinitions(ctx, b.Clients.SQS, defs)
	require.NoError(t, err)

	key, err := b.Clients.KMS.CreateKey(ctx, &kms.CreateKeyInput{})
	require.NoError(t, err)

	// The operational events' bus, of this stack alone, with a rule that
	// records them (busEvents).
	bus := watchBus(t, b, "ops-"+sfx)

	cfg := config.Config{
		OperationsBus: bus,
		WebhooksTable: tables.Webhooks, DeliveriesTable: tables.Deliveries,
		DeliveryQueueURL: urls.DeliveryQueue, EventsQueueURL: urls.EventsQueue,
		KMSKeyID: aws.ToString(key.KeyMetadata.KeyId), DefaultTimeout: 5 * time.Second,
		RetentionDays: 30, AllowPrivate: !opt.denyPrivate,
		CircuitOpenAfter: config.DefaultCircuitOpenAfter, CircuitCooldown: config.DefaultCircuitCooldownMS * time.Millisecond,
	}
	if opt.configure != nil {
		opt.configure(&cfg)
	}
	logs := &logBuffer{}
	log := slog.New(slog.NewTextHandler(io.MultiWriter(tWriter{t}, logs), &slog.HandlerOptions{Level: slog.LevelInfo}))
	popt := app.PipelineOptions{Now: opt.now}
	var tokenClock *fake.Clock
	if opt.tokenClock {
		tokenClock = fake.NewClock(time.Now())
		popt.TokenNow = tokenClock.Now
	}
	p, err := app.NewPipelineWith(cfg, b.Clients, log, popt)
	require.NoError(t, err)
	if opt.recoveryStore != nil {
		p.Recovery, err = recovery.New(recovery.Options{Store: opt.recoveryStore(p.Store), Sender: p.Jobs,
			Retention: p.Store.Retention(), Clock: opt.now, Logger: log})
		require.NoError(t, err)
		p.Handler = delivery.NewHandler(p.Attempter, p.Triggers, p.Store, delivery.HandlerOptions{Log: log, Recovery: p.Recovery, Drains: p.Attempter})
	}
	apiCfg := cfg
	// Receivers are on loopback; the dial guard is what the tests exercise.
	apiCfg.AllowPrivate = !opt.apiDenyPrivate
	apiOpts, err := app.APIOptions(apiCfg, p, log)
	require.NoError(t, err)
	h, err := httpapi.New(apiOpts)
	require.NoError(t, err)

	s := &stack{t: t, bus: bus, clients: b.Clients, cfg: cfg, urls: urls, pipeline: p, api: h, store: p.Store, tokenClock: tokenClock, logs: logs}
	if !opt.noESM {
		handler := localaws.SQSHandler(p.SQSHandler())
		if opt.wrap != nil {
			handler = opt.wrap(t, handler)
		}
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for _, u := range []string{urls.DeliveryQueue, urls.EventsQueue} {
			esm, err := localaws.NewESM(b.Clients.SQS, localaws.ESMConfig{
				QueueURL: u, Handler: handler, WaitTime: time.Second, Timeout: 30 * time.Second,
				ShutdownGrace: 5 * time.Second, Logger: log,
			})
			require.NoError(t, err)
			wg.Add(1)
			go func() { defer wg.Done(); _ = esm.Run(ctx) }()
		}
		t.Cleanup(func() { cancel(); wg.Wait() })
	}
	return s
}

func randHex(t *testing.T) string {
	var b [5]byte
	_, err := rand.Read(b[:])
	require.NoError(t, err)
	return hex.EncodeToString(b[:])
}

// testLogger writes the stack's logs to the test log (seen on failure).
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type tWriter struct{ t *testing.T }

// logBuffer keeps what a stack logged, for checks of what logs never hold.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}

// do calls the API handler.
func (s *stack) do(method, path string, body any, hdr ...string) (int, map[string]any) {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(s.t, err)
		rd = bytes.NewReader(b)
	}
	req := httptest.NewRequest(method, path, rd)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	s.api.ServeHTTP(rec, req)
	var out map[string]any
	if rec.Body.Len() > 0 {
		require.NoError(s.t, json.Unmarshal(rec.Body.Bytes(), &out), rec.Body.String())
	}
	return rec.Code, out
}

// createWebhook creates a webhook through the API and returns its id.
func (s *stack) createWebhook(spec map[string]any) string {
	s.t.Helper()
	code, out := s.do("POST", "/webhooks", spec)
	require.Equal(s.t, http.StatusCreated, code, "%v", out)
	return out["id"].(string)
}

// waitFinal polls a delivery until it is succeeded or failed.
func (s *stack) waitFinal(webhookID, deliveryID string, within time.Duration) *webhook.Delivery {
	s.t.Helper()
	deadline := time.Now().Add(within)
	for {
		d, err := s.store.GetDelivery(context.Background(), webhookID, deliveryID)
		if err == nil && d.Status.Final() {
			return d
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("delivery %s not final within %s (last: %+v, err %v)", deliveryID, within, d, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitStats polls a webhook's stats until they count the given attempts:
// the handler adds a batch's counts after its records, so a final delivery
// can be seen a moment before its counts.
func (s *stack) waitStats(webhookID string, attempts int64) webhook.Stats {
	s.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := s.store.GetStats(context.Background(), webhookID)
		require.NoError(s.t, err)
		if st.Attempts >= attempts || time.Now().After(deadline) {
			return st
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// queueDepth returns the visible + in-flight + delayed messages of a queue.
func (s *stack) queueDepth(url string) int {
	s.t.Helper()
	out, err := s.clients.SQS.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(url),
		AttributeNames: []sqstypes.QueueAttributeName{"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"},
	})
	require.NoError(s.t, err)
	n := 0
	for _, v := range out.Attributes {
		c, _ := strconv.Atoi(v)
		n += c
	}
	return n
}

// waitDrained waits until each queue in turn holds no message, visible, in
// flight or delayed: a positive signal that the work the test caused is done,
// instead of a guess at how long that takes. The event source mappings delete
// a message only after its handler returned, and a handler sends what the
// message causes (an event's jobs, a job's next attempt) before it returns,
// so once the events queue and then the delivery queue are empty every
// delivery the test's messages lead to has been attempted and recorded. A
// check that nothing more arrives comes after this.
func (s *stack) waitDrained(within time.Duration, urls ...string) {
	s.t.Helper()
	deadline := time.Now().Add(within)
	for _, u := range urls {
		for n := s.queueDepth(u); n > 0; n = s.queueDepth(u) {
			if time.Now().After(deadline) {
				s.t.Fatalf("queue %s still holds %d messages after %s", u, n, within)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// waitRecords waits until a webhook has at least n delivery records and
// returns the first page of them.
func (s *stack) waitRecords(webhookID string, n int, within time.Duration) webhook.Page[*webhook.Delivery] {
	s.t.Helper()
	deadline := time.Now().Add(within)
	for {
		page, err := s.store.ListDeliveries(context.Background(), webhookID, webhook.DeliveryFilter{})
		require.NoError(s.t, err)
		if len(page.Items) >= n {
			return page
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("webhook %s has %d delivery records after %s, want %d", webhookID, len(page.Items), within, n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// receiver is a subscriber endpoint that records what it gets and answers
// with a scripted sequence of status codes (the last one repeats).
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	requests []received
	answers  []int
	header   http.Header // added to every answer
}

type received struct {
	at     time.Time
	header http.Header
	body   []byte
}

func newReceiver(t *testing.T, answers ...int) *receiver {
	if len(answers) == 0 {
		answers = []int{http.StatusOK}
	}
	r := &receiver{answers: answers, header: http.Header{}}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.requests = append(r.requests, received{at: time.Now(), header: req.Header.Clone(), body: body})
		code := r.answers[min(len(r.requests), len(r.answers))-1]
		for k, v := range r.header {
			w.Header()[k] = v
		}
		r.mu.Unlock()
		w.WriteHeader(code)
		io.WriteString(w, `{"ok":true}`)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) got() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.requests...)
}

// waitRequests waits until the receiver got n requests.
func (r *receiver) waitRequests(t *testing.T, n int, within time.Duration) []received {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		if got := r.got(); len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("receiver got %d requests within %s, want %d", len(r.got()), within, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func haveReference() bool {
	return os.Getenv("WEBHOOKS_TEST_DYNAMODB_LOCAL") != "" && os.Getenv("WEBHOOKS_TEST_ELASTICMQ") != ""
}
