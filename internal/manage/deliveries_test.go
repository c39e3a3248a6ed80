package manage

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/delivery"
	"github.com/systemprompt-io/webhooks/internal/queue"
	"github.com/systemprompt-io/webhooks/internal/safehttp"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

func TestTest(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		body  string
		creds map[string]string // what the tester must be given
	}{
		{"no credentials", minimal, nil},
		{"credentials opened", `{"name":"n","url":"https://example.com/","events":["custom"],"auth_type":"bearer","auth_credentials":{"token":"tok"}}`,
			map[string]string{"token": "tok"}},
		{"inactive is tested too", `{"name":"n","url":"https://example.com/","events":["custom"],"status":"inactive"}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			w := f.create(t, tt.body)
			res, err := f.svc.Test(ctx, w.ID)
			require.NoError(t, err)
			assert.True(t, res.Success)
			require.Len(t, f.tester.got, 1)
			got := f.tester.got[0]
			assert.Equal(t, w.ID, got.ID)
			assert.Equal(t, w.Status, got.Status)
			assert.Equal(t, tt.creds, got.Credentials)
		})
	}

	f := newFixture(t)
	_, err := f.svc.Test(ctx, "wh_0123456789abcdef0123456789abcdef")
	assertCode(t, err, webhook.ENotFound, "")
	assert.Empty(t, f.tester.got, "nothing sent for a missing webhook")

	f = newFixture(t, func(o *Options) { o.Tester = nil })
	_, err = f.svc.Test(ctx, f.create(t, minimal).ID)
	require.Error(t, err)
	assert.Equal(t, webhook.EInternal, webhook.ErrorCode(err))
}

// pipeline is the service over a real attempter, both on the shared fakes,
// sending to an endpoint that answers as told (the last answer repeats).
type pipeline struct {
	*fixture
	attempter *delivery.Attempter
	hook      *webhook.Webhook
	hits      *atomic.Int32
}

func newPipeline(t *testing.T, answers ...int) *pipeline {
	t.Helper()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(hits.Add(1))
		w.WriteHeader(answers[min(n, len(answers))-1])
		io.WriteString(w, "answer")
	}))
	t.Cleanup(srv.Close)
	f := newFixture(t, func(o *Options) { o.AllowPrivate = true })
	a, err := delivery.NewAttempter(f.store, f.secrets, f.queue, delivery.Options{
		Client: safehttp.NewClient(safehttp.Options{AllowPrivate: true}),
		Now:    f.clock.Now, Rand: func() float64 { return 0.5 },
	})
	require.NoError(t, err)
	p := &pipeline{fixture: f, attempter: a, hits: &hits}
	p.hook = f.create(t, `{"name":"t","url":"`+srv.URL+`","events":["agent.started"],"auth_type":"hmac","auth_credentials":{"secret":"shh"}}`)
	return p
}

func (p *pipeline) job(attempt int) queue.Job {
	now := p.clock.Now()
	return queue.Job{
		DeliveryID: webhook.DeliveryIDFor("evt_x", p.hook.ID, now), WebhookID: p.hook.ID, EventID: "evt_x",
		Event: "agent.started", Attempt: attempt, CreatedAt: now, Timestamp: now,
		Data: json.RawMessage(`{"a":1}`),
	}
}

// failed runs a delivery to the end of its attempts.
func (p *pipeline) failed(t *testing.T) queue.Job {
	t.Helper()
	job := p.job(1)
	for range p.hook.Retry.MaxAttempts {
		_, err := p.attempter.Run(context.Background(), job, false)
		require.NoError(t, err)
		if n := len(p.queue.Sent); n > 0 {
			job = p.queue.Sent[n-1]
		}
	}
	require.Equal(t, webhook.DeliveryFailed, p.store.Delivery(job.DeliveryID).Status)
	return job
}

func TestRetryStartsNewSeries(t *testing.T) {
	p := newPipeline(t, 500, 500, 500, 200)
	job := p.failed(t)

	d, err := p.svc.Retry(context.Background(), p.hook.ID, job.DeliveryID)
	require.NoError(t, err)
	assert.Equal(t, webhook.DeliveryPending, d.Status)
	assert.NotNil(t, d.NextAttemptAt)
	assert.Nil(t, d.Data, "the answer shows no payload")
	next := p.queue.Sent[len(p.queue.Sent)-1]
	assert.Equal(t, 4, next.Attempt)
	assert.JSONEq(t, `{"a":1}`, string(next.Data), "the kept event is sent again")
	_, err = p.svc.Retry(context.Background(), p.hook.ID, job.DeliveryID)
	assert.Equal(t, webhook.EConflict, webhook.ErrorCode(err), "pending now, not failed")

	delta, err := p.attempter.Run(context.Background(), next, false)
	require.NoError(t, err)
	rec := p.store.Delivery(job.DeliveryID)
	assert.Equal(t, webhook.DeliverySucceeded, rec.Status)
	assert.Len(t, rec.Attempts, 4)
	assert.Equal(t, int64(1), delta.Succeeded, "counted failed before: it moves to successful")
	assert.Equal(t, int64(-1), delta.Failed)
}

func TestRetryUndoneWhenQueueFails(t *testing.T) {
	p := newPipeline(t, 500)
	job := p.failed(t)
	p.queue.SendErr = errors.New("sqs: unavailable")
	_, err := p.svc.Retry(context.Background(), p.hook.ID, job.DeliveryID)
	assert.Equal(t, webhook.EUnavailable, webhook.ErrorCode(err))
	assert.Equal(t, webhook.DeliveryFailed, p.store.Delivery(job.DeliveryID).Status, "still failed, retryable again")
}

func TestRetryRefused(t *testing.T) {
	p := newPipeline(t, 500)
	job := p.failed(t)
	ctx := context.Background()
	sent := len(p.queue.Sent)
	tests := []struct {
		name, webhookID, deliveryID, code string
	}{
		{"missing webhook", "wh_0123456789abcdef0123456789abcdef", job.DeliveryID, webhook.ENotFound},
		{"missing delivery", p.hook.ID, "dlv_0123456789abcdef0123456789abcdef", webhook.ENotFound},
		{"another webhook's delivery", p.create(t, minimal).ID, job.DeliveryID, webhook.ENotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := p.svc.Retry(ctx, tt.webhookID, tt.deliveryID)
			assertCode(t, err, tt.code, "")
			assert.Equal(t, webhook.DeliveryFailed, p.store.Delivery(job.DeliveryID).Status)
			assert.Len(t, p.queue.Sent, sent, "nothing queued")
		})
	}

	f := newFixture(t, func(o *Options) { o.Jobs = nil })
	_, err := f.svc.Retry(ctx, f.create(t, minimal).ID, job.DeliveryID)
	assert.Equal(t, webhook.EInternal, webhook.ErrorCode(err))
}

// The test send of a webhook reaches its endpoint through the attempter,
// signed with its opened secret.
func TestTestThroughTheAttempter(t *testing.T) {
	p := newPipeline(t, 201)
	p.svc.opt.Tester = p.attempter
	res, err := p.svc.Test(context.Background(), p.hook.ID)
	require.NoError(t, err)
	assert.True(t, res.Success)
	assert.Equal(t, 201, res.Result.StatusCode)
	assert.True(t, p.store.Delivery(res.Delivery.ID).Test, "recorded as a test delivery")
	assert.Empty(t, p.queue.Sent, "a test is not retried")
	assert.Equal(t, int32(1), p.hits.Load())
}
