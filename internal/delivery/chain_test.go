package delivery

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/devtools/fake"
	"github.com/systemprompt-io/webhooks/internal/queue"
	"github.com/systemprompt-io/webhooks/internal/safehttp"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// sqsRecorder is an SQS that keeps what was sent, with its DelaySeconds.
type sqsRecorder struct {
	mu   sync.Mutex
	sent []sentMessage
}

type sentMessage struct {
	body  string
	delay int32
}

func (r *sqsRecorder) SendMessage(_ context.Context, in *sqs.SendMessageInput, _ ...func(*sqs.Options)) (*sqs.SendMessageOutput, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent = append(r.sent, sentMessage{aws.ToString(in.MessageBody), in.DelaySeconds})
	return &sqs.SendMessageOutput{}, nil
}

func (r *sqsRecorder) SendMessageBatch(_ context.Context, in *sqs.SendMessageBatchInput, _ ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := &sqs.SendMessageBatchOutput{}
	for _, e := range in.Entries {
		r.sent = append(r.sent, sentMessage{aws.ToString(e.MessageBody), e.DelaySeconds})
		out.Successful = append(out.Successful, sqstypes.SendMessageBatchResultEntry{Id: e.Id})
	}
	return out, nil
}

func (r *sqsRecorder) pop(t *testing.T) sentMessage {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	require.NotEmpty(t, r.sent, "a message was sent")
	m := r.sent[0]
	r.sent = r.sent[1:]
	return m
}

// TestDelayOverSQSLimitChains runs a policy whose next attempt is an hour
// away: SQS delays a message at most 900 s, so the job carries not_before
// and hops until it is due, each hop with the rest of the wait. The clock is
// the test's; each message is "received" when its DelaySeconds have passed.
func TestDelayOverSQSLimitChains(t *testing.T) {
	f := newFixture(t, 500, 200)
	f.setHook(func(w *webhook.Webhook) {
		w.Retry = webhook.RetryPolicy{Strategy: webhook.StrategyFixed, MaxAttempts: 2, InitialDelayMS: 3600_000, MaxDelayMS: 3600_000}
	})
	rec := &sqsRecorder{}
	q := queue.New(rec, "https://sqs.local/jobs", queue.WithClock(func() time.Time { return f.now }))
	a, err := NewAttempter(f.store, &fake.Secrets{}, q, Options{
		Client: safehttp.NewClient(safehttp.Options{AllowPrivate: true}),
		Now:    func() time.Time { return f.now }, Rand: func() float64 { return 0 }, Log: quiet,
	})
	require.NoError(t, err)

	start, first := f.now, f.job(1)
	_, err = a.Run(context.Background(), first, false)
	require.NoError(t, err)
	d := f.store.Delivery(first.DeliveryID)
	require.Equal(t, webhook.DeliveryRetrying, d.Status)
	assert.Equal(t, start.Add(time.Hour), *d.NextAttemptAt)

	var delays []int32
	for hop := 0; ; hop++ {
		require.Less(t, hop, 10, "the chain ends")
		m := rec.pop(t)
		delays = append(delays, m.delay)
		f.now = f.now.Add(time.Duration(m.delay) * time.Second) // SQS holds it this long
		job, err := queue.DecodeJob(m.body)
		require.NoError(t, err)
		assert.Equal(t, 2, job.Attempt)
		_, err = a.Run(context.Background(), job, false)
		require.NoError(t, err)
		if f.hits.Load() == 2 {
			break
		}
		assert.Equal(t, int32(1), f.hits.Load(), "not attempted before it is due (hop %d)", hop)
	}
	assert.Equal(t, []int32{900, 900, 900, 900}, delays, "3600 s in four hops of at most 900 s")
	assert.Equal(t, start.Add(time.Hour), f.now, "attempted exactly when due, not before")
	d = f.store.Delivery(first.DeliveryID)
	assert.Equal(t, webhook.DeliverySucceeded, d.Status)
	assert.Len(t, d.Attempts, 2)
}
