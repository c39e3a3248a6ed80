package delivery

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/devtools/fake"
	"github.com/systemprompt-io/webhooks/internal/queue"
	"github.com/systemprompt-io/webhooks/internal/safehttp"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

type fixture struct {
	store *fake.Store
	queue *fake.Queue
	a     *Attempter
	hook  *webhook.Webhook
	hits  *atomic.Int32
	now   time.Time
}

// newFixture serves answers in order (the last one repeats).
func newFixture(t *testing.T, answers ...int) *fixture {
	t.Helper()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(hits.Add(1))
		code := answers[min(n, len(answers))-1]
		if code == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "30")
		}
		w.WriteHeader(code)
		io.WriteString(w, "answer")
	}))
	t.Cleanup(srv.Close)
	id := webhook.NewID(webhook.WebhookIDPrefix)
	w := &webhook.Webhook{
		ID: id, Name: "t", URL: srv.URL, Method: "POST",
		Events: []string{"agent.started"}, Status: webhook.StatusActive, AuthType: webhook.AuthHMAC,
		SealedCredentials: fake.Sealed(id, map[string]string{"secret": "shh"}), Retry: webhook.DefaultRetryPolicy(), TimeoutMS: 5000,
	}
	f := &fixture{store: fake.NewStore(w), queue: &fake.Queue{}, hook: w, hits: &hits,
		now: time.Date(2026, 11, 28, 16, 0, 0, 0, time.UTC)}
	// A read takes a while: concurrent jobs overlap it.
	f.store.ReadDelay = 5 * time.Millisecond
	a, err := NewAttempter(f.store, &fake.Secrets{}, f.queue, Options{
		Client: safehttp.NewClient(safehttp.Options{AllowPrivate: true}),
		Now:    func() time.Time { return f.now }, Rand: func() float64 { return 0.5 }, Log: quiet,
	})
	require.NoError(t, err)
	f.a = a
	return f
}

// setHook changes the fixture's webhook, in the store too.
func (f *fixture) setHook(change func(w *webhook.Webhook)) {
	change(f.hook)
	f.store.Put(f.hook)
}

func (f *fixture) job(attempt int) queue.Job {
	return queue.Job{
		DeliveryID: webhook.DeliveryIDFor("evt_x", f.hook.ID, f.now), WebhookID: f.hook.ID, EventID: "evt_x",
		Event: "agent.started", Attempt: attempt, CreatedAt: f.now, Timestamp: f.now,
		Data: json.RawMessage(`{"a":1}`),
	}
}

func TestRunSucceeds(t *testing.T) {
	f := newFixture(t, 200)
	d, err := f.a.Run(context.Background(), f.job(1), false)
	require.NoError(t, err)
	want := webhook.StatsDelta{Succeeded: 1, Attempts: 1, TotalResponseMS: d.TotalResponseMS,
		LastDeliveryAt: f.now, LastSuccessAt: f.now}
	want.Hour.Start, want.Hour.Succeeded = f.now.Truncate(time.Hour), 1
	want.Hour.Latency[webhook.LatencyBucket(d.TotalResponseMS)] = 1
	assert.Equal(t, want, d)

	rec := f.store.Delivery(f.job(1).DeliveryID)
	assert.Equal(t, webhook.DeliverySucceeded, rec.Status)
	require.Len(t, rec.Attempts, 1)
	assert.Equal(t, 200, rec.Attempts[0].StatusCode)
	assert.Equal(t, "answer", rec.Attempts[0].ResponseBody)
	assert.Empty(t, rec.Attempts[0].Error)
	assert.NotNil(t, rec.CompletedAt)
	assert.Nil(t, rec.Data, "a succeeded delivery keeps no payload")
	assert.Empty(t, f.queue.Sent)
}

func TestRunRetriesThenFails(t *testing.T) {
	f := newFixture(t, 500)
	job := f.job(1)
	for attempt := 1; attempt <= 3; attempt++ {
		d, err := f.a.Run(context.Background(), job, false)
		require.NoError(t, err)
		rec := f.store.Delivery(job.DeliveryID)
		require.Len(t, rec.Attempts, attempt)
		if attempt < 3 {
			assert.Equal(t, webhook.DeliveryRetrying, rec.Status)
			require.Len(t, f.queue.Sent, attempt)
			next := f.queue.Sent[attempt-1]
			assert.Equal(t, attempt+1, next.Attempt)
			assert.Equal(t, job.DeliveryID, next.DeliveryID, "retries keep the delivery id")
			assert.Equal(t, f.now.Add(f.queue.Delays[attempt-1]), *rec.NextAttemptAt)
			assert.Zero(t, d.Failed+d.Succeeded, "not final yet")
			job = next
		} else {
			assert.Equal(t, webhook.DeliveryFailed, rec.Status)
			assert.Len(t, f.queue.Sent, 2, "no attempt after the last")
			assert.Equal(t, int64(1), d.Failed)
			assert.JSONEq(t, `{"a":1}`, string(rec.Data), "a failed delivery keeps its event for a manual retry")
			assert.Contains(t, rec.Attempts[2].Error, "attempts exhausted")
		}
	}
	assert.Less(t, f.queue.Delays[0], f.queue.Delays[1], "exponential backoff grows")
}

// The policy plans 867 ms (1 s less 13.3 % of jitter), but SQS delays by
// whole seconds: the record says the wait really queued, and next_attempt_at
// is when that wait ends, on the injected clock.
func TestRunRecordsTheQueuedWait(t *testing.T) {
	f := newFixture(t, 500)
	f.now = f.now.Add(250 * time.Millisecond)
	f.a.opt.Rand = func() float64 { return 0.665 }
	job := f.job(1)
	for i, want := range []struct {
		wait   time.Duration
		reason string
	}{
		{time.Second, "endpoint answered 500 Internal Server Error; retrying in 1s (attempt 2 of 3 next)"},     // planned 867ms
		{2 * time.Second, "endpoint answered 500 Internal Server Error; retrying in 2s (attempt 3 of 3 next)"}, // planned 1.734s
	} {
		_, err := f.a.Run(context.Background(), job, false)
		require.NoError(t, err)
		rec := f.store.Delivery(job.DeliveryID)
		require.Len(t, rec.Attempts, i+1)
		assert.Equal(t, want.reason, rec.Attempts[i].Error)
		require.Len(t, f.queue.Delays, i+1)
		assert.Equal(t, want.wait, f.queue.Delays[i], "the wait sent is the wait recorded")
		delay, notBefore := queue.Plan(f.now, f.queue.Delays[i])
		assert.Equal(t, int32(want.wait/time.Second), delay, "SQS delays the message by exactly that")
		assert.True(t, notBefore.IsZero())
		require.NotNil(t, rec.NextAttemptAt)
		assert.Equal(t, f.now.Add(want.wait), *rec.NextAttemptAt)
		job = f.queue.Sent[i]
		f.now = f.now.Add(want.wait)
	}
}

func TestRunGoneDeactivates(t *testing.T) {
	f := newFixture(t, 410)
	_, err := f.a.Run(context.Background(), f.job(1), false)
	require.NoError(t, err)
	assert.Equal(t, []string{f.hook.ID}, f.store.Deactivated())
	assert.Equal(t, webhook.DeliveryFailed, f.store.Delivery(f.job(1).DeliveryID).Status)
	assert.Empty(t, f.queue.Sent)
}

func TestRunDuplicateJobs(t *testing.T) {
	t.Run("first attempt twice", func(t *testing.T) {
		f := newFixture(t, 500)
		_, err := f.a.Run(context.Background(), f.job(1), false)
		require.NoError(t, err)
		d, err := f.a.Run(context.Background(), f.job(1), false)
		require.NoError(t, err)
		assert.Zero(t, d, "a duplicate counts nothing")
		assert.Len(t, f.queue.Sent, 1, "only the winner schedules the next attempt")
		assert.Len(t, f.store.Delivery(f.job(1).DeliveryID).Attempts, 1)
	})
	t.Run("redelivered after a crash before scheduling", func(t *testing.T) {
		f := newFixture(t, 500)
		f.queue.SendErr = assert.AnError
		_, err := f.a.Run(context.Background(), f.job(1), false)
		require.Error(t, err, "scheduling failed: the job must come back")
		require.Len(t, f.store.Delivery(f.job(1).DeliveryID).Attempts, 1, "the attempt was recorded")

		f.queue.SendErr = nil
		hits := f.hits.Load()
		_, err = f.a.Run(context.Background(), f.job(1), true)
		require.NoError(t, err)
		assert.Equal(t, hits, f.hits.Load(), "no second request for a recorded attempt")
		require.Len(t, f.queue.Sent, 1, "the lost successor is scheduled")
		assert.Equal(t, 2, f.queue.Sent[0].Attempt)
	})
	t.Run("redelivered job reschedules its successor", func(t *testing.T) {
		f := newFixture(t, 500)
		_, err := f.a.Run(context.Background(), f.job(1), false)
		require.NoError(t, err)
		f.queue.Sent = nil
		hits := f.hits.Load()
		// A later attempt's job arrives again: its attempt is recorded.
		rec := f.store.Delivery(f.job(1).DeliveryID)
		require.Len(t, rec.Attempts, 1)
		_, err = f.a.Run(context.Background(), f.job(2), false)
		require.NoError(t, err)
		f.queue.Sent = nil
		_, err = f.a.Run(context.Background(), f.job(2), true)
		require.NoError(t, err)
		assert.Equal(t, hits+1, f.hits.Load())
		require.Len(t, f.queue.Sent, 1, "the successor is sent again")
		assert.Equal(t, 3, f.queue.Sent[0].Attempt)
	})
}

func TestRunEarlyJobIsResent(t *testing.T) {
	f := newFixture(t, 200)
	job := f.job(2)
	job.NotBefore = f.now.Add(time.Hour)
	_, err := f.a.Run(context.Background(), job, false)
	require.NoError(t, err)
	require.Len(t, f.queue.Resent, 1)
	assert.Zero(t, f.hits.Load(), "not attempted before it is due")
}

func TestRunDeletedWebhookDropsJob(t *testing.T) {
	f := newFixture(t, 200)
	require.NoError(t, f.store.DeleteWebhook(context.Background(), f.hook.ID))
	d, err := f.a.Run(context.Background(), f.job(1), false)
	require.NoError(t, err)
	assert.Zero(t, d)
	assert.Zero(t, f.hits.Load())
	assert.Zero(t, f.store.Deliveries())
}

func TestRunNearDeadlineIsNotStarted(t *testing.T) {
	f := newFixture(t, 200)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err := f.a.Run(ctx, f.job(1), false)
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), "delivery: attempt "), err)
	assert.Zero(t, f.hits.Load())
}

func TestRunRetryAfter(t *testing.T) {
	f := newFixture(t, 429)
	_, err := f.a.Run(context.Background(), f.job(1), false)
	require.NoError(t, err)
	require.Len(t, f.queue.Delays, 1)
	assert.Equal(t, 30*time.Second, f.queue.Delays[0], "Retry-After: 30 is honoured over the 1 s backoff")
}

func TestTestDelivery(t *testing.T) {
	f := newFixture(t, 201)
	f.hook.Status = webhook.StatusInactive
	f.hook.Credentials = map[string]string{"secret": "shh"}
	res, err := f.a.Test(context.Background(), f.hook)
	require.NoError(t, err)
	assert.True(t, res.Success)
	assert.Equal(t, 201, res.Result.StatusCode)
	assert.True(t, res.Delivery.Test)
	assert.Equal(t, webhook.DeliverySucceeded, res.Delivery.Status)
	assert.Equal(t, "custom", res.Delivery.Event)
	rec := f.store.Delivery(res.Delivery.ID)
	assert.True(t, rec.Test)
	assert.Empty(t, f.queue.Sent, "a test is not retried")

	f2 := newFixture(t, 500)
	f2.hook.Credentials = map[string]string{"secret": "shh"}
	res, err = f2.a.Test(context.Background(), f2.hook)
	require.NoError(t, err)
	assert.False(t, res.Success)
	assert.Equal(t, webhook.DeliveryFailed, res.Delivery.Status)
	assert.Empty(t, f2.queue.Sent, "a failed test is not retried")
	assert.Contains(t, res.Error, "500")
}

// A batch's jobs for one webhook read it (and open its credentials) once.
func TestWebhookIsFetchedOncePerBatch(t *testing.T) {
	f := newFixture(t, 200)
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			job := f.job(1)
			job.DeliveryID = webhook.DeliveryIDFor("evt_"+string(rune('a'+i)), f.hook.ID, f.now)
			_, err := f.a.Run(context.Background(), job, false)
			assert.NoError(t, err)
		}()
	}
	wg.Wait()
	assert.Equal(t, 1, f.store.WebhookReads())
	assert.Equal(t, int32(10), f.hits.Load())
}
