package bench

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go/middleware"

	"github.com/systemprompt-io/webhooks/internal/devtools/testenv"
	"github.com/systemprompt-io/webhooks/internal/queue"
	"github.com/systemprompt-io/webhooks/internal/trigger"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// backends: the embedded emulator, and the reference stand-ins (moto's
// DynamoDB + ElasticMQ) when their endpoints are set.
func backends(tb testing.TB) []testenv.Backend {
	bs := []testenv.Backend{testenv.Kumo(tb)}
	if os.Getenv("WEBHOOKS_TEST_DYNAMODB_LOCAL") != "" && os.Getenv("WEBHOOKS_TEST_ELASTICMQ") != "" {
		bs = append(bs, testenv.Reference(tb))
	}
	return bs
}

// newStack makes a stack that lives until tb's end.
func newStack(tb testing.TB, b testenv.Backend) *Stack {
	tb.Helper()
	s, err := NewStack(context.Background(), b.Clients, StackOptions{})
	if err != nil {
		tb.Fatalf("stack on %s: %v", b.Name, err)
	}
	tb.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}

// BenchmarkTriggerFanOut triggers one event (1 KB of data) to 1, 100 and
// 1,000 active subscribers through the real trigger.Service: the
// subscription query, one job per subscriber, SendMessageBatch of 10 — sent
// one after the other (send-concurrency=1) and up to 8 at once (what
// app.NewPipeline uses, app.JobSendConcurrency).
// Besides time it reports the AWS calls per trigger by operation: expect 1
// Query (+1 per further 1 MB page) and ⌈N/10⌉ SendMessageBatch.
//
// The webhooks are created once per backend and size. Each round of b.N
// triggers sends to a queue of its own, deleted afterwards, so messages do
// not pile up in the stand-in across rounds.
func BenchmarkTriggerFanOut(b *testing.B) {
	parent := b
	type key struct {
		backend string
		n       int
	}
	// Stacks are per backend and size; the round-trip target reuses the
	// emulator's.
	var (
		mu     sync.Mutex
		stacks = map[key]*Stack{}
	)
	data := Payload(1024)
	type target struct {
		be  testenv.Backend
		rtt time.Duration // added to every SQS call
	}
	var targets []target
	for _, be := range backends(b) {
		targets = append(targets, target{be: be})
	}
	// The stand-ins answer in-process or on loopback (and ElasticMQ handles
	// one queue's sends one at a time), so they cannot show what concurrent
	// sends save against SQS's network round trips: this target adds one.
	targets = append(targets, target{be: testenv.Kumo(b), rtt: 10 * time.Millisecond})
	for _, tg := range targets {
		be := tg.be
		name := be.Name
		if tg.rtt > 0 {
			name = fmt.Sprintf("%s+sqs-rtt=%s", be.Name, tg.rtt)
		}
		for _, c := range []struct{ n, workers int }{{1, 1}, {100, 1}, {100, 8}, {1000, 1}, {1000, 8}} {
			n := c.n
			b.Run(fmt.Sprintf("%s/subscribers=%d/send-concurrency=%d", name, n, c.workers), func(b *testing.B) {
				ctx := context.Background()
				mu.Lock()
				s := stacks[key{be.Name, n}]
				if s == nil {
					s = newStack(parent, be)
					t0 := time.Now()
					if err := seedWebhooks(ctx, parent, s, be, n); err != nil {
						mu.Unlock()
						b.Fatal(err)
					}
					b.Logf("%s: %d subscribers created in %s", be.Name, n, time.Since(t0).Round(time.Millisecond))
					stacks[key{be.Name, n}] = s
				}
				mu.Unlock()

				q, err := s.Base.SQS.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(fmt.Sprintf("bench-fan-%d-%d", n, time.Now().UnixNano()))})
				if err != nil {
					b.Fatal(err)
				}
				defer func() {
					_, _ = s.Base.SQS.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: q.QueueUrl})
				}()
				client := s.Clients.SQS
				if tg.rtt > 0 {
					client = sqs.New(client.Options(), func(o *sqs.Options) {
						o.APIOptions = append(slices.Clone(o.APIOptions), roundTrip(tg.rtt))
					})
				}
				svc := trigger.New(s.Pipeline.Store, queue.New(client, aws.ToString(q.QueueUrl), queue.WithConcurrency(c.workers)), s.Pipeline.Store, nil, nil)

				s.Meters.Reset()
				b.ReportAllocs()
				b.ResetTimer()
				for range b.N {
					res, err := svc.Trigger(ctx, webhook.TriggerRequest{Event: "agent.started", Data: data})
					if err != nil {
						b.Fatal(err)
					}
					if res.Deliveries != n {
						b.Fatalf("%d deliveries, want %d", res.Deliveries, n)
					}
				}
				b.StopTimer()
				per := func(c int) float64 { return float64(c) / float64(b.N) }
				b.ReportMetric(per(s.Meters.DynamoDB.Get("Query")), "Query/op")
				b.ReportMetric(per(s.Meters.SQS.Get("SendMessageBatch")), "SendMessageBatch/op")
				b.ReportMetric(per(s.Meters.DynamoDB.Total()+s.Meters.SQS.Total()+s.Meters.KMS.Total()), "aws-calls/op")
			})
		}
	}
}

// seedWebhooks creates n webhooks subscribed to agent.started on s. On the
// emulator it goes through the API. Elsewhere it creates them on a scratch
// emulator stack through the API and copies the items: moto copies its whole
// table for every transaction, so 1,000 creates there take minutes.
func seedWebhooks(ctx context.Context, tb testing.TB, s *Stack, be testenv.Backend, n int) error {
	spec := map[string]any{"name": "fan-out", "url": "https://example.com/hook", "events": []string{"agent.started"}}
	if be.Name == "kumo" {
		_, err := s.CreateWebhooks(ctx, n, spec)
		return err
	}
	scratch := newStack(tb, testenv.Kumo(tb))
	if _, err := scratch.CreateWebhooks(ctx, n, spec); err != nil {
		return err
	}
	return copyItems(ctx, scratch.Base.DynamoDB, s.Base.DynamoDB, scratch.Config.WebhooksTable, s.Config.WebhooksTable)
}

// copyItems copies every item of one table into another (BatchWriteItem of
// 25, unprocessed items sent again).
func copyItems(ctx context.Context, src, dst *dynamodb.Client, from, to string) error {
	p := dynamodb.NewScanPaginator(src, &dynamodb.ScanInput{TableName: aws.String(from)})
	var reqs []ddbtypes.WriteRequest
	flush := func() error {
		pending := map[string][]ddbtypes.WriteRequest{to: reqs}
		for len(pending[to]) > 0 {
			out, err := dst.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: pending})
			if err != nil {
				return err
			}
			pending = out.UnprocessedItems
		}
		reqs = reqs[:0]
		return nil
	}
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, it := range page.Items {
			reqs = append(reqs, ddbtypes.WriteRequest{PutRequest: &ddbtypes.PutRequest{Item: it}})
			if len(reqs) == 25 {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
	return flush()
}

// roundTrip adds d to every call of a client, as a network round trip would.
func roundTrip(d time.Duration) func(*middleware.Stack) error {
	return func(s *middleware.Stack) error {
		return s.Finalize.Add(middleware.FinalizeMiddlewareFunc("bench.roundTrip",
			func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
				time.Sleep(d)
				return next.HandleFinalize(ctx, in)
			}), middleware.After)
	}
}
