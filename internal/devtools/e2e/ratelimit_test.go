package e2e

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/app"
	"github.com/systemprompt-io/webhooks/internal/delivery"
	"github.com/systemprompt-io/webhooks/internal/devtools/localaws"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// TestRateLimitAcrossInstances: a webhook limited to 5 requests a second
// gets 30 deliveries through two delivery function instances (two
// pipelines, each with its own poller and attempter, sharing the tables and
// the queue). Each arrives once, with one attempt: waiting is not an
// attempt. That at most 5 went out in any second is checked on the shared
// counter items (exact, whatever the machine's load), and that the limit
// held across the instances, not per instance, on the attempts' start times
// (6 seconds of slots: at least ~4 s from the first to the last; 10/s,
// the per-instance mistake, would need only ~2 s). The receiver's arrivals
// are counted per 2-second window, which holds slots of at most three
// seconds: no more than 15.
func TestRateLimitAcrossInstances(t *testing.T) {
	const limit, n = 5, 30
	// A visibility timeout longer than a job can wait in the function,
	// as in AWS (960 s), so no job is received twice meanwhile.
	forEachBackend(t, stackOptions{visibility: 60}, func(t *testing.T, s *stack) {
		rcv := newReceiver(t)
		id := s.createWebhook(map[string]any{"name": "limited", "url": rcv.URL, "events": []string{"custom"},
			"rate_limit": map[string]any{"per_second": limit}})

		// The second instance: its own pipeline (attempter, caches) and
		// poller on the same delivery queue.
		second, err := app.NewPipeline(s.cfg, s.clients, testLogger(t), nil)
		require.NoError(t, err)
		var handled atomic.Int32
		counting := func(h localaws.SQSHandler) localaws.SQSHandler {
			return func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
				handled.Add(int32(len(ev.Records)))
				return h(ctx, ev)
			}
		}
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		esm, err := localaws.NewESM(s.clients.SQS, localaws.ESMConfig{
			QueueURL: s.urls.DeliveryQueue, Handler: counting(second.SQSHandler()), WaitTime: time.Second,
			Timeout: 30 * time.Second, ShutdownGrace: 5 * time.Second, Logger: testLogger(t),
		})
		require.NoError(t, err)
		wg.Go(func() { _ = esm.Run(ctx) })
		t.Cleanup(func() { cancel(); wg.Wait() })

		events := s.triggerN(n)
		got := rcv.waitRequests(t, n, 90*time.Second)
		s.waitDrained(30*time.Second, s.urls.DeliveryQueue)
		got = rcv.got()
		require.Equal(t, n, len(got), "each delivery arrives once")
		seen := map[string]bool{}
		for _, r := range got {
			d := r.header.Get(delivery.HeaderDelivery)
			assert.False(t, seen[d], "delivery %s arrived twice", d)
			seen[d] = true
			assert.Equal(t, "1", r.header.Get(delivery.HeaderAttempt), "waiting spent no attempt")
		}

		// Exact: the counter items, one per second a slot was taken in.
		out, err := s.clients.DynamoDB.Query(context.Background(), &dynamodb.QueryInput{
			TableName:                 aws.String(s.cfg.WebhooksTable),
			KeyConditionExpression:    aws.String("pk = :pk"),
			ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":pk": &ddbtypes.AttributeValueMemberS{Value: "rl#" + id}},
			ConsistentRead:            aws.Bool(true),
		})
		require.NoError(t, err)
		total := 0
		for _, it := range out.Items {
			c, err := strconv.Atoi(it["count"].(*ddbtypes.AttributeValueMemberN).Value)
			require.NoError(t, err)
			assert.LessOrEqual(t, c, limit, "second %v", it["sk"])
			total += c
		}
		assert.Equal(t, n, total, "one slot per attempt")
		assert.GreaterOrEqual(t, len(out.Items), n/limit, "slots of at least %d seconds", n/limit)

		// Across instances: the attempts' start times span the seconds.
		var first, last time.Time
		for _, ev := range events {
			d := s.finalFor(id, ev, 10*time.Second)
			require.Equal(t, webhook.DeliverySucceeded, d.Status)
			require.Len(t, d.Attempts, 1)
			at := d.Attempts[0].StartedAt
			if first.IsZero() || at.Before(first) {
				first = at
			}
			if at.After(last) {
				last = at
			}
		}
		assert.GreaterOrEqual(t, last.Sub(first), 3500*time.Millisecond, "the limit is global: 30 at 5/s take 6 seconds")

		for i, r := range got {
			in := 0
			for _, o := range got[i:] {
				if o.at.Sub(r.at) < 2*time.Second {
					in++
				}
			}
			assert.LessOrEqual(t, in, 3*limit, "arrivals in the 2 s from %s", r.at)
		}
		t.Logf("job messages handled by the second instance: %d; slot seconds %d; attempts span %s", handled.Load(), len(out.Items), last.Sub(first))
		assert.NotZero(t, handled.Load(), "the second instance took part")
	})
}
