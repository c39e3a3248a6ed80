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

	"github.com/systemprompt-io/webhooks/internal/queue"
	"github.com/systemprompt-io/webhooks/internal/safehttp"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// memStore is an in-memory Store with SaveAttempt's conditions.
type memStore struct {
	mu          sync.Mutex
	hooks       map[string]*webhook.Webhook
	deliveries  map[string]webhook.Delivery
	deactivated []string
	saves       int
	gets        int
}

func newMemStore(ws ...*webhook.Webhook) *memStore {
	s := &memStore{hooks: map[string]*webhook.Webhook{}, deliveries: map[string]webhook.Delivery{}}
	for _, w := range ws {
		s.hooks[w.ID] = w
	}
	return s
}

func (s *memStore) GetWebhook(_ context.Context, id string) (*webhook.Webhook, error) {
	time.Sleep(5 * time.Millisecond) // a read takes a while: concurrent jobs overlap it
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gets++
	w, ok := s.hooks[id]
	if !ok {
		return nil, webhook.Errorf(webhook.ENotFound, "webhook %s not found", id)
	}
	c := *w
	return &c, nil
}

func (s *memStore) GetDelivery(_ context.Context, _, id string) (*webhook.Delivery, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.deliveries[id]
	if !ok {
		return nil, webhook.Errorf(webhook.ENotFound, "delivery %s not found", id)
	}
	d.Attempts = append([]webhook.Attempt(nil), d.Attempts...)
	return &d, nil
}

func (s *memStore) SaveAttempt(_ context.Context, d *webhook.Delivery) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.saves++
	if prev := s.deliveries[d.ID]; len(prev.Attempts) != len(d.Attempts)-1 {
		return webhook.Errorf(webhook.EConflict, "attempt already recorded")
	}
	c := *d
	c.Attempts = append([]webhook.Attempt(nil), d.Attempts...)
	s.deliveries[d.ID] = c
	return nil
}

func (s *memStore) DeactivateWebhook(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deactivated = append(s.deactivated, id)
	return nil
}

func (s *memStore) RequeueDelivery(_ context.Context, _, id string, now time.Time) (*webhook.Delivery, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.deliveries[id]
	if !ok {
		return nil, webhook.Errorf(webhook.ENotFound, "no delivery %s", id)
	}
	if d.Status != webhook.DeliveryFailed {
		return nil, webhook.Errorf(webhook.EConflict, "not failed")
	}
	d.Status, d.SeriesStart, d.NextAttemptAt, d.CompletedAt = webhook.DeliveryPending, len(d.Attempts)+1, &now, nil
	s.deliveries[id] = d
	c := d
	return &c, nil
}

func (s *memStore) UndoRequeue(_ context.Context, d *webhook.Delivery, completedAt time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.deliveries[d.ID]
	if cur.Status == webhook.DeliveryPending && len(cur.Attempts) == len(d.Attempts) {
		cur.Status, cur.CompletedAt, cur.NextAttemptAt = webhook.DeliveryFailed, &completedAt, nil
		s.deliveries[d.ID] = cur
	}
	return nil
}

type plainOpener struct{}

func (plainOpener) Open(_ context.Context, _ string, sealed []byte) (map[string]string, error) {
	var m map[string]string
	return m, json.Unmarshal(sealed, &m)
}

type memQueue struct {
	mu      sync.Mutex
	sent    []queue.Job
	delays  []time.Duration
	resent  []queue.Job
	sendErr error
}

func (q *memQueue) SendJobs(_ context.Context, jobs []queue.Job, delays []time.Duration) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.sendErr != nil {
		return q.sendErr
	}
	q.sent = append(q.sent, jobs...)
	q.delays = append(q.delays, delays...)
	return nil
}

func (q *memQueue) Resend(_ context.Context, job queue.Job) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.resent = append(q.resent, job)
	return nil
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

type fixture struct {
	store *memStore
	queue *memQueue
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
	creds, _ := json.Marshal(map[string]string{"secret": "shh"})
	w := &webhook.Webhook{
		ID: webhook.NewID(webhook.WebhookIDPrefix), Name: "t", URL: srv.URL, Method: "POST",
		Events: []string{"agent.started"}, Status: webhook.StatusActive, AuthType: webhook.AuthHMAC,
		SealedCredentials: creds, Retry: webhook.DefaultRetryPolicy(), TimeoutMS: 5000,
	}
	f := &fixture{store: newMemStore(w), queue: &memQueue{}, hook: w, hits: &hits,
		now: time.Date(2026, 11, 28, 16, 0, 0, 0, time.UTC)}
	a, err := NewAttempter(f.store, plainOpener{}, f.queue, Options{
		Client: safehttp.NewClient(safehttp.Options{AllowPrivate: true}),
		Now:    func() time.Time { return f.now }, Rand: func() float64 { return 0.5 }, Log: quiet,
	})
	require.NoError(t, err)
	f.a = a
	return f
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
	assert.Equal(t, webhook.StatsDelta{Succeeded: 1, Attempts: 1, TotalResponseMS: d.TotalResponseMS,
		LastDeliveryAt: f.now, LastSuccessAt: f.now}, d)

	rec := f.store.deliveries[f.job(1).DeliveryID]
	assert.Equal(t, webhook.DeliverySucceeded, rec.Status)
	require.Len(t, rec.Attempts, 1)
	assert.Equal(t, 200, rec.Attempts[0].StatusCode)
	assert.Equal(t, "answer", rec.Attempts[0].ResponseBody)
	assert.Empty(t, rec.Attempts[0].Error)
	assert.NotNil(t, rec.CompletedAt)
	assert.Nil(t, rec.Data, "a succeeded delivery keeps no payload")
	assert.Empty(t, f.queue.sent)
}

func TestRunRetriesThenFails(t *testing.T) {
	f := newFixture(t, 500)
	job := f.job(1)
	for attempt := 1; attempt <= 3; attempt++ {
		d, err := f.a.Run(context.Background(), job, false)
		require.NoError(t, err)
		rec := f.store.deliveries[job.DeliveryID]
		require.Len(t, rec.Attempts, attempt)
		if attempt < 3 {
			assert.Equal(t, webhook.DeliveryRetrying, rec.Status)
			require.Len(t, f.queue.sent, attempt)
			next := f.queue.sent[attempt-1]
			assert.Equal(t, attempt+1, next.Attempt)
			assert.Equal(t, job.DeliveryID, next.DeliveryID, "retries keep the delivery id")
			assert.Equal(t, f.now.Add(f.queue.delays[attempt-1]), *rec.NextAttemptAt)
			assert.Zero(t, d.Failed+d.Succeeded, "not final yet")
			job = next
		} else {
			assert.Equal(t, webhook.DeliveryFailed, rec.Status)
			assert.Len(t, f.queue.sent, 2, "no attempt after the last")
			assert.Equal(t, int64(1), d.Failed)
			assert.JSONEq(t, `{"a":1}`, string(rec.Data), "a failed delivery keeps its event for a manual retry")
			assert.Contains(t, rec.Attempts[2].Error, "attempts exhausted")
		}
	}
	assert.Less(t, f.queue.delays[0], f.queue.delays[1], "exponential backoff grows")
}

func TestRunGoneDeactivates(t *testing.T) {
	f := newFixture(t, 410)
	_, err := f.a.Run(context.Background(), f.job(1), false)
	require.NoError(t, err)
	assert.Equal(t, []string{f.hook.ID}, f.store.deactivated)
	assert.Equal(t, webhook.DeliveryFailed, f.store.deliveries[f.job(1).DeliveryID].Status)
	assert.Empty(t, f.queue.sent)
}

func TestRunDuplicateJobs(t *testing.T) {
	t.Run("first attempt twice", func(t *testing.T) {
		f := newFixture(t, 500)
		_, err := f.a.Run(context.Background(), f.job(1), false)
		require.NoError(t, err)
		d, err := f.a.Run(context.Background(), f.job(1), false)
		require.NoError(t, err)
		assert.Zero(t, d, "a duplicate counts nothing")
		assert.Len(t, f.queue.sent, 1, "only the winner schedules the next attempt")
		assert.Len(t, f.store.deliveries[f.job(1).DeliveryID].Attempts, 1)
	})
	t.Run("redelivered after a crash before scheduling", func(t *testing.T) {
		f := newFixture(t, 500)
		f.queue.sendErr = assert.AnError
		_, err := f.a.Run(context.Background(), f.job(1), false)
		require.Error(t, err, "scheduling failed: the job must come back")
		require.Len(t, f.store.deliveries[f.job(1).DeliveryID].Attempts, 1, "the attempt was recorded")

		f.queue.sendErr = nil
		hits := f.hits.Load()
		_, err = f.a.Run(context.Background(), f.job(1), true)
		require.NoError(t, err)
		assert.Equal(t, hits, f.hits.Load(), "no second request for a recorded attempt")
		require.Len(t, f.queue.sent, 1, "the lost successor is scheduled")
		assert.Equal(t, 2, f.queue.sent[0].Attempt)
	})
	t.Run("redelivered job reschedules its successor", func(t *testing.T) {
		f := newFixture(t, 500)
		_, err := f.a.Run(context.Background(), f.job(1), false)
		require.NoError(t, err)
		f.queue.sent = nil
		hits := f.hits.Load()
		// A later attempt's job arrives again: its attempt is recorded.
		rec := f.store.deliveries[f.job(1).DeliveryID]
		require.Len(t, rec.Attempts, 1)
		_, err = f.a.Run(context.Background(), f.job(2), false)
		require.NoError(t, err)
		f.queue.sent = nil
		_, err = f.a.Run(context.Background(), f.job(2), true)
		require.NoError(t, err)
		assert.Equal(t, hits+1, f.hits.Load())
		require.Len(t, f.queue.sent, 1, "the successor is sent again")
		assert.Equal(t, 3, f.queue.sent[0].Attempt)
	})
}

func TestRunEarlyJobIsResent(t *testing.T) {
	f := newFixture(t, 200)
	job := f.job(2)
	job.NotBefore = f.now.Add(time.Hour)
	_, err := f.a.Run(context.Background(), job, false)
	require.NoError(t, err)
	require.Len(t, f.queue.resent, 1)
	assert.Zero(t, f.hits.Load(), "not attempted before it is due")
}

func TestRunDeletedWebhookDropsJob(t *testing.T) {
	f := newFixture(t, 200)
	delete(f.store.hooks, f.hook.ID)
	d, err := f.a.Run(context.Background(), f.job(1), false)
	require.NoError(t, err)
	assert.Zero(t, d)
	assert.Zero(t, f.hits.Load())
	assert.Empty(t, f.store.deliveries)
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
	require.Len(t, f.queue.delays, 1)
	assert.Equal(t, 30*time.Second, f.queue.delays[0], "Retry-After: 30 is honoured over the 1 s backoff")
}

func TestRetryStartsNewSeries(t *testing.T) {
	f := newFixture(t, 500, 500, 500, 200)
	job := f.job(1)
	for range 3 {
		_, err := f.a.Run(context.Background(), job, false)
		require.NoError(t, err)
		if n := len(f.queue.sent); n > 0 {
			job = f.queue.sent[n-1]
		}
	}
	rec := f.store.deliveries[job.DeliveryID]
	require.Equal(t, webhook.DeliveryFailed, rec.Status)

	_, err := f.a.Retry(context.Background(), f.hook.ID, job.DeliveryID)
	require.NoError(t, err)
	next := f.queue.sent[len(f.queue.sent)-1]
	assert.Equal(t, 4, next.Attempt)
	assert.JSONEq(t, `{"a":1}`, string(next.Data), "the kept event is sent again")
	_, err = f.a.Retry(context.Background(), f.hook.ID, job.DeliveryID)
	assert.Equal(t, webhook.EConflict, webhook.ErrorCode(err), "pending now, not failed")

	d, err := f.a.Run(context.Background(), next, false)
	require.NoError(t, err)
	rec = f.store.deliveries[job.DeliveryID]
	assert.Equal(t, webhook.DeliverySucceeded, rec.Status)
	assert.Len(t, rec.Attempts, 4)
	assert.Equal(t, int64(1), d.Succeeded, "counted failed before: it moves to successful")
	assert.Equal(t, int64(-1), d.Failed)
}

func TestRetryUndoneWhenQueueFails(t *testing.T) {
	f := newFixture(t, 500)
	f.hook.Retry.MaxAttempts = 1
	_, err := f.a.Run(context.Background(), f.job(1), false)
	require.NoError(t, err)
	f.queue.sendErr = assert.AnError
	_, err = f.a.Retry(context.Background(), f.hook.ID, f.job(1).DeliveryID)
	assert.Equal(t, webhook.EUnavailable, webhook.ErrorCode(err))
	assert.Equal(t, webhook.DeliveryFailed, f.store.deliveries[f.job(1).DeliveryID].Status, "still failed, retryable again")
}

func TestTestDelivery(t *testing.T) {
	f := newFixture(t, 201)
	f.hook.Status = webhook.StatusInactive
	res, err := f.a.Test(context.Background(), f.hook.ID)
	require.NoError(t, err)
	assert.True(t, res.Success)
	assert.Equal(t, 201, res.Result.StatusCode)
	assert.True(t, res.Delivery.Test)
	assert.Equal(t, webhook.DeliverySucceeded, res.Delivery.Status)
	assert.Equal(t, "custom", res.Delivery.Event)
	rec := f.store.deliveries[res.Delivery.ID]
	assert.True(t, rec.Test)
	assert.Empty(t, f.queue.sent, "a test is not retried")

	f2 := newFixture(t, 500)
	res, err = f2.a.Test(context.Background(), f2.hook.ID)
	require.NoError(t, err)
	assert.False(t, res.Success)
	assert.Equal(t, webhook.DeliveryFailed, res.Delivery.Status)
	assert.Empty(t, f2.queue.sent, "a failed test is not retried")
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
	assert.Equal(t, 1, f.store.gets)
	assert.Equal(t, int32(10), f.hits.Load())
}
