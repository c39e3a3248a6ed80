package bench

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/systemprompt-io/webhooks/internal/delivery"
	"github.com/systemprompt-io/webhooks/internal/devtools/testenv"
	"github.com/systemprompt-io/webhooks/internal/queue"
	"github.com/systemprompt-io/webhooks/internal/safehttp"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// memStore is an in-memory delivery.Store: it serves one webhook and keeps
// nothing, so an attempt costs only its HTTP, signing and recording CPU.
type memStore struct{ w *webhook.Webhook }

var _ delivery.Store = memStore{}

func (m memStore) GetWebhook(context.Context, string) (*webhook.Webhook, error) { return m.w, nil }
func (m memStore) GetDelivery(_ context.Context, _, id string) (*webhook.Delivery, error) {
	return nil, webhook.Errorf(webhook.ENotFound, "delivery %s not found", id)
}
func (m memStore) SaveAttempt(context.Context, *webhook.Delivery) error    { return nil }
func (m memStore) DeactivateWebhook(context.Context, string) (bool, error) { return true, nil }
func (m memStore) RequeueDelivery(context.Context, string, string, time.Time) (*webhook.Delivery, error) {
	return nil, webhook.Errorf(webhook.EConflict, "not failed")
}
func (m memStore) UndoRequeue(context.Context, *webhook.Delivery, time.Time) error { return nil }

// noJobs is a delivery.Scheduler that drops what it is given (a first
// attempt that succeeds schedules nothing anyway).
type noJobs struct{}

var _ delivery.Scheduler = noJobs{}

func (noJobs) SendJobs(context.Context, []queue.Job, []time.Duration) error { return nil }
func (noJobs) Resend(context.Context, queue.Job) error                      { return nil }

// plainCreds is a delivery.Opener for credentials that are not sealed.
type plainCreds map[string]string

func (p plainCreds) Open(context.Context, string, []byte) (map[string]string, error) { return p, nil }

// tokenServer is an OAuth 2.0 token endpoint that grants every request a
// token for an hour, counting them.
type tokenServer struct {
	*httptest.Server
	requests atomic.Int64
}

func newTokenServer() *tokenServer {
	ts := &tokenServer{}
	ts.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		ts.requests.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"access_token":"bench-token","token_type":"Bearer","expires_in":3600}`)
	}))
	return ts
}

// barePerOp is the bare POST's ns/op of this run, the base of x-bare.
var barePerOp float64

func reportVsBare(b *testing.B) {
	if barePerOp > 0 {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/barePerOp, "x-bare")
	}
}

// jobsFor returns n first-attempt jobs of 1 KB of data for webhook wh.
func jobsFor(wh string, n int) []queue.Job {
	data := Payload(1024)
	now := time.Now().UTC().Truncate(time.Millisecond)
	js := make([]queue.Job, n)
	for i := range js {
		evt := webhook.NewID(webhook.EventIDPrefix)
		js[i] = queue.Job{
			DeliveryID: webhook.DeliveryIDFor(evt, wh, now), WebhookID: wh, EventID: evt,
			Event: "agent.started", Attempt: 1, CreatedAt: now, Timestamp: now, Data: data,
		}
	}
	return js
}

// BenchmarkAttempt compares one delivery attempt with a plain POST of the
// same body to the same local receiver, in one run:
//
//   - bare-post: http.Client (default transport) POST + read the answer;
//     bare-post/safehttp: the same with the delivery client (safehttp).
//   - attempt/fakes: delivery.Attempter.Run with an in-memory store, queue and
//     credentials: payload, request with all headers, HMAC signatures (seed
//     and Standard Webhooks), the guarded client, retry decision, the record
//     built — no AWS.
//   - attempt/<backend>: the same with the real store (the conditional
//     PutItem of the delivery record; webhook and credentials come from the
//     attempter's cache after the first attempt).
//   - attempt/fakes/oauth2, attempt/<backend>/oauth2: the same for an
//     oauth2 webhook whose token
//     is cached (Authorization: Bearer instead of the signatures); they
//     report the token requests (and KMS calls) per attempt too: 0.
//   - handler/<backend>: delivery.Handler.Handle on batches of 10 job
//     messages (decode, attempt, one stats update per batch); per delivery.
//
// x-bare is ns/op over bare-post's ns/op. B/op and allocs/op of the backend
// variants include the embedded emulator's own work (it runs in-process).
func BenchmarkAttempt(b *testing.B) {
	recv := NewReceiver(0)
	defer recv.Close()
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	secret := "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	hook := &webhook.Webhook{
		ID: webhook.NewID(webhook.WebhookIDPrefix), URL: recv.URL + "/hook", Method: http.MethodPost,
		Events: []string{"agent.started"}, Status: webhook.StatusActive, AuthType: webhook.AuthHMAC,
		Credentials: map[string]string{"secret": secret}, Retry: webhook.DefaultRetryPolicy(), TimeoutMS: 5000,
	}
	body, err := delivery.Payload{WebhookID: hook.ID, Event: "agent.started", Timestamp: time.Now(), Data: Payload(1024)}.Body()
	if err != nil {
		b.Fatal(err)
	}
	guarded := safehttp.NewClient(safehttp.Options{AllowPrivate: true})

	post := func(b *testing.B, client *http.Client) {
		b.ReportAllocs()
		for b.Loop() {
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, hook.URL, bytes.NewReader(body))
			if err != nil {
				b.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Fatalf("status %d", resp.StatusCode)
			}
		}
	}
	b.Run("bare-post", func(b *testing.B) {
		post(b, &http.Client{})
		barePerOp = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	})
	b.Run("bare-post/safehttp", func(b *testing.B) {
		post(b, guarded)
		reportVsBare(b)
	})

	b.Run("attempt/fakes", func(b *testing.B) {
		a, err := delivery.NewAttempter(memStore{w: hook}, plainCreds(hook.Credentials), noJobs{}, delivery.Options{Client: guarded, Log: log})
		if err != nil {
			b.Fatal(err)
		}
		js := jobsFor(hook.ID, b.N)
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			d, err := a.Run(ctx, js[i], false)
			if err != nil || d.Succeeded != 1 {
				b.Fatalf("attempt: %+v %v", d, err)
			}
		}
		b.StopTimer()
		reportVsBare(b)
	})

	b.Run("attempt/fakes/oauth2", func(b *testing.B) {
		tokens := newTokenServer()
		defer tokens.Close()
		oauthHook := *hook
		oauthHook.AuthType = webhook.AuthOAuth2
		oauthHook.Credentials = map[string]string{"token_url": tokens.URL + "/token", "client_id": "bench", "client_secret": "bench-secret"}
		a, err := delivery.NewAttempter(memStore{w: &oauthHook}, plainCreds(oauthHook.Credentials), noJobs{}, delivery.Options{Client: guarded, Log: log})
		if err != nil {
			b.Fatal(err)
		}
		js := jobsFor(oauthHook.ID, b.N+1)
		if d, err := a.Run(ctx, js[b.N], false); err != nil || d.Succeeded != 1 { // the token cached
			b.Fatalf("attempt: %+v %v", d, err)
		}
		before := tokens.requests.Load()
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			d, err := a.Run(ctx, js[i], false)
			if err != nil || d.Succeeded != 1 {
				b.Fatalf("attempt: %+v %v", d, err)
			}
		}
		b.StopTimer()
		reportVsBare(b)
		b.ReportMetric(float64(tokens.requests.Load()-before)/float64(b.N), "token-requests/op")
	})

	for _, be := range []testenv.Backend{testenv.Kumo(b)} {
		s := newStack(b, be)
		ids, err := s.CreateWebhooks(ctx, 1, map[string]any{
			"name": "bench", "url": recv.URL + "/hook", "events": []string{"agent.started"},
			"auth_type": "hmac", "auth_credentials": map[string]any{"secret": secret},
		})
		if err != nil {
			b.Fatal(err)
		}
		a, h := s.Pipeline.Attempter, s.Pipeline.Handler

		// oauth2 with a cached token: the token endpoint is asked once, and
		// the attempt makes no AWS call an hmac attempt does not.
		tokens := newTokenServer()
		oauthIDs, err := s.CreateWebhooks(ctx, 1, map[string]any{
			"name": "bench-oauth2", "url": recv.URL + "/hook", "events": []string{"agent.started"},
			"auth_type": "oauth2", "auth_credentials": map[string]any{"token_url": tokens.URL + "/token", "client_id": "bench", "client_secret": "bench-secret"},
		})
		if err != nil {
			b.Fatal(err)
		}
		b.Run("attempt/"+be.Name+"/oauth2", func(b *testing.B) {
			js := jobsFor(oauthIDs[0], b.N+1)
			if d, err := a.Run(ctx, js[b.N], false); err != nil || d.Succeeded != 1 { // token and webhook cached
				b.Fatalf("attempt: %+v %v", d, err)
			}
			s.Meters.Reset()
			before := tokens.requests.Load()
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				d, err := a.Run(ctx, js[i], false)
				if err != nil || d.Succeeded != 1 {
					b.Fatalf("attempt: %+v %v", d, err)
				}
			}
			b.StopTimer()
			reportVsBare(b)
			b.ReportMetric(float64(s.Meters.DynamoDB.Total())/float64(b.N), "ddb-calls/op")
			b.ReportMetric(float64(s.Meters.KMS.Total())/float64(b.N), "kms-calls/op")
			b.ReportMetric(float64(tokens.requests.Load()-before)/float64(b.N), "token-requests/op")
		})
		tokens.Close()

		b.Run("attempt/"+be.Name, func(b *testing.B) {
			js := jobsFor(ids[0], b.N)
			s.Meters.Reset()
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				d, err := a.Run(ctx, js[i], false)
				if err != nil || d.Succeeded != 1 {
					b.Fatalf("attempt: %+v %v", d, err)
				}
			}
			b.StopTimer()
			reportVsBare(b)
			b.ReportMetric(float64(s.Meters.DynamoDB.Total())/float64(b.N), "ddb-calls/op")
		})

		b.Run("handler/"+be.Name, func(b *testing.B) {
			js := jobsFor(ids[0], b.N)
			batches := make([]events.SQSEvent, 0, b.N/10+1)
			for i := 0; i < len(js); i += 10 {
				var ev events.SQSEvent
				for k, j := range js[i:min(i+10, len(js))] {
					msg, err := j.Encode()
					if err != nil {
						b.Fatal(err)
					}
					ev.Records = append(ev.Records, events.SQSMessage{
						MessageId: strconv.Itoa(i + k), Body: msg, EventSource: "aws:sqs",
						Attributes: map[string]string{"ApproximateReceiveCount": "1"},
					})
				}
				batches = append(batches, ev)
			}
			s.Meters.Reset()
			b.ReportAllocs()
			b.ResetTimer()
			for _, ev := range batches {
				hctx, cancel := context.WithTimeout(ctx, HandlerTimeout)
				resp, err := h.Handle(hctx, ev)
				cancel()
				if err != nil || len(resp.BatchItemFailures) > 0 {
					b.Fatalf("handle: %v %v", resp.BatchItemFailures, err)
				}
			}
			b.StopTimer()
			reportVsBare(b)
			b.ReportMetric(float64(s.Meters.DynamoDB.Total())/float64(b.N), "ddb-calls/op")
		})
	}
}
