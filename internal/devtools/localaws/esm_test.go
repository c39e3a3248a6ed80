package localaws

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/devtools/awsmetrics"
	"github.com/systemprompt-io/webhooks/internal/devtools/testenv"
	"github.com/systemprompt-io/webhooks/internal/queue"
)

// bound is how long a test waits for something that must happen; reaching
// it fails the test. It is not a timing assertion.
const bound = 60 * time.Second

// queues creates a test's queues, with the source queues' visibility
// timeout set to visibility seconds, and deletes them when it ends.
func queues(t *testing.T, client *sqs.Client, visibility int) queue.URLs {
	t.Helper()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	defs := queue.Definitions("t" + hex.EncodeToString(b) + "-")
	for i := range defs {
		if defs[i].DeadLetter != "" {
			defs[i].Attributes["VisibilityTimeout"] = strconv.Itoa(visibility)
		}
	}
	urls, err := queue.EnsureDefinitions(context.Background(), client, defs)
	require.NoError(t, err)
	t.Cleanup(func() {
		for _, u := range []string{urls.DeliveryQueue, urls.EventsQueue, urls.DeliveryDLQ, urls.EventsDLQ} {
			_, _ = client.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: aws.String(u)})
		}
	})
	return urls
}

func send(t *testing.T, client *sqs.Client, url string, bodies ...string) map[string]string {
	t.Helper()
	ids := map[string]string{}
	for _, body := range bodies {
		out, err := client.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(body)})
		require.NoError(t, err)
		ids[aws.ToString(out.MessageId)] = body
	}
	return ids
}

// count is how many messages url holds: visible, in flight or delayed.
func count(t *testing.T, client *sqs.Client, url string) int {
	t.Helper()
	out, err := client.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(url),
		AttributeNames: []types.QueueAttributeName{
			types.QueueAttributeNameApproximateNumberOfMessages,
			types.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
			types.QueueAttributeNameApproximateNumberOfMessagesDelayed,
		},
	})
	require.NoError(t, err)
	n := 0
	for _, v := range out.Attributes {
		i, err := strconv.Atoi(v)
		require.NoError(t, err)
		n += i
	}
	return n
}

func arnOf(t *testing.T, client *sqs.Client, url string) string {
	t.Helper()
	out, err := client.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url), AttributeNames: []types.QueueAttributeName{"QueueArn"}})
	require.NoError(t, err)
	return out.Attributes["QueueArn"]
}

// start runs an ESM until the test cancels it; done closes when Run returns.
func start(t *testing.T, client *sqs.Client, cfg ESMConfig) (cancel func(), done <-chan struct{}) {
	t.Helper()
	if cfg.WaitTime == 0 {
		cfg.WaitTime = time.Second
	}
	cfg.Logger = slog.New(slog.NewTextHandler(t.Output(), nil))
	m, err := NewESM(client, cfg)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan struct{})
	go func() {
		defer close(ch)
		assert.NoError(t, m.Run(ctx))
	}()
	t.Cleanup(func() {
		cancel()
		<-ch
	})
	return cancel, ch
}

func waitFor(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(bound):
		t.Fatalf("gave up waiting for %s", what)
	}
}

// recorder is a handler that fails the messages whose body is in fail and
// records every record it saw.
type recorder struct {
	mu    sync.Mutex
	fail  map[string]bool
	seen  []events.SQSMessage
	calls map[string]int
	cond  func(r *recorder) bool
	met   chan struct{}
}

func newRecorder(fail map[string]bool, cond func(r *recorder) bool) *recorder {
	return &recorder{fail: fail, calls: map[string]int{}, cond: cond, met: make(chan struct{})}
}

func (r *recorder) handle(_ context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var resp events.SQSEventResponse
	for _, m := range ev.Records {
		r.seen = append(r.seen, m)
		r.calls[m.MessageId]++
		if r.fail[m.Body] {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
		}
	}
	if r.cond != nil && r.cond(r) {
		r.cond = nil
		close(r.met)
	}
	return resp, nil
}

func TestESMDeletesSuccessesKeepsFailures(t *testing.T) {
	for _, b := range testenv.SQSBackends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			calls, counter := awsmetrics.Counter()
			client := sqs.New(b.Clients.SQS.Options(), func(o *sqs.Options) { o.APIOptions = append(o.APIOptions, counter) })
			urls := queues(t, client, 960)
			sent := send(t, client, urls.DeliveryQueue, `{"n":"ok1"}`, `{"n":"bad1"}`, `{"n":"ok2"}`, `{"n":"bad2"}`)
			rec := newRecorder(map[string]bool{`{"n":"bad1"}`: true, `{"n":"bad2"}`: true},
				func(r *recorder) bool { return len(r.calls) == len(sent) })

			cancel, done := start(t, client, ESMConfig{QueueURL: urls.DeliveryQueue, Handler: rec.handle})
			waitFor(t, rec.met, "every message to be handled")
			cancel()
			waitFor(t, done, "Run to return")

			assert.Equal(t, 2, count(t, client, urls.DeliveryQueue), "the two failures stay, the successes are gone")
			assert.Zero(t, calls.Get("DeleteMessage"), "deletes are batched")
			assert.Positive(t, calls.Get("DeleteMessageBatch"))

			// Each record is what Lambda would deliver.
			arn := arnOf(t, client, urls.DeliveryQueue)
			rec.mu.Lock()
			defer rec.mu.Unlock()
			require.Len(t, rec.seen, 4)
			for _, m := range rec.seen {
				assert.Equal(t, sent[m.MessageId], m.Body)
				assert.NotEmpty(t, m.ReceiptHandle)
				sum := md5.Sum([]byte(m.Body))
				assert.Equal(t, hex.EncodeToString(sum[:]), m.Md5OfBody)
				assert.Equal(t, "aws:sqs", m.EventSource)
				assert.Equal(t, arn, m.EventSourceARN)
				assert.Equal(t, "us-east-1", m.AWSRegion)
				assert.Equal(t, "1", m.Attributes["ApproximateReceiveCount"])
				assert.NotEmpty(t, m.Attributes["SentTimestamp"])
			}
		})
	}
}

func TestESMFailedInvocationDeletesNothing(t *testing.T) {
	handlers := map[string]SQSHandler{
		"error": func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
			return events.SQSEventResponse{}, errors.New("boom")
		},
		"panic": func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
			panic("boom")
		},
		"unknown item": func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
			return events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{{ItemIdentifier: "not-in-batch"}}}, nil
		},
		"empty item": func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
			return events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{{}}}, nil
		},
	}
	for _, b := range testenv.SQSBackends(t) {
		for name, h := range handlers {
			t.Run(b.Name+"/"+name, func(t *testing.T) {
				t.Parallel()
				client := b.Clients.SQS
				urls := queues(t, client, 960)
				send(t, client, urls.EventsQueue, `{"event":"a"}`, `{"event":"b"}`)
				var mu sync.Mutex
				handled := 0
				all := make(chan struct{})
				cancel, done := start(t, client, ESMConfig{QueueURL: urls.EventsQueue, Handler: func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
					mu.Lock()
					handled += len(ev.Records)
					if handled == 2 {
						close(all)
					}
					mu.Unlock()
					return h(ctx, ev)
				}})
				waitFor(t, all, "both messages to be handled")
				cancel()
				waitFor(t, done, "Run to return")
				assert.Equal(t, 2, count(t, client, urls.EventsQueue), "a failed invocation deletes nothing")
			})
		}
	}
}

// A message whose handler keeps failing is received maxReceiveCount times,
// then the queue's redrive policy moves it to the dead-letter queue.
func TestESMDeadLetter(t *testing.T) {
	for _, b := range testenv.SQSBackends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			client := b.Clients.SQS
			urls := queues(t, client, 1)
			for _, c := range []struct {
				name     string
				src, dlq string
				max      int
			}{
				{"delivery", urls.DeliveryQueue, urls.DeliveryDLQ, queue.DeliveryMaxReceives},
				{"events", urls.EventsQueue, urls.EventsDLQ, queue.EventsMaxReceives},
			} {
				t.Run(c.name, func(t *testing.T) {
					t.Parallel()
					sent := send(t, client, c.src, `{"poison":true}`)
					var id string
					for id = range sent {
					}
					rec := newRecorder(map[string]bool{`{"poison":true}`: true}, nil)
					start(t, client, ESMConfig{QueueURL: c.src, Handler: rec.handle})

					var dead []types.Message
					deadline := time.Now().Add(bound)
					for len(dead) == 0 && time.Now().Before(deadline) {
						out, err := client.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
							QueueUrl: aws.String(c.dlq), WaitTimeSeconds: 1, MaxNumberOfMessages: 10,
						})
						require.NoError(t, err)
						dead = out.Messages
					}
					require.Len(t, dead, 1, "the message reaches the dead-letter queue")
					assert.Equal(t, `{"poison":true}`, aws.ToString(dead[0].Body))
					assert.Equal(t, id, aws.ToString(dead[0].MessageId))

					rec.mu.Lock()
					defer rec.mu.Unlock()
					assert.Equal(t, c.max, rec.calls[id], "received maxReceiveCount times")
					var counts []string
					for _, m := range rec.seen {
						counts = append(counts, m.Attributes["ApproximateReceiveCount"])
					}
					want := []string{}
					for i := 1; i <= c.max; i++ {
						want = append(want, strconv.Itoa(i))
					}
					assert.Equal(t, want, counts)
				})
			}
		})
	}
}

// On cancel the mapping stops receiving but lets the batch in flight finish,
// and deletes it or leaves it per the handler's answer: nothing is lost.
func TestESMStopsCleanly(t *testing.T) {
	for _, b := range testenv.SQSBackends(t) {
		for _, fail := range []bool{false, true} {
			t.Run(b.Name+"/fail="+strconv.FormatBool(fail), func(t *testing.T) {
				t.Parallel()
				client := b.Clients.SQS
				urls := queues(t, client, 1)
				send(t, client, urls.DeliveryQueue, `{"slow":true}`)
				started, release := make(chan struct{}), make(chan struct{})
				var ctxErr error
				cancel, done := start(t, client, ESMConfig{QueueURL: urls.DeliveryQueue, Handler: func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
					close(started)
					<-release
					ctxErr = ctx.Err()
					var resp events.SQSEventResponse
					if fail {
						resp.BatchItemFailures = []events.SQSBatchItemFailure{{ItemIdentifier: ev.Records[0].MessageId}}
					}
					return resp, nil
				}})
				waitFor(t, started, "the handler to start")
				cancel()
				select {
				case <-done:
					t.Fatal("Run returned while its batch was in flight")
				default:
				}
				close(release)
				waitFor(t, done, "Run to return")
				assert.NoError(t, ctxErr, "the batch in flight keeps its context within the grace")

				if !fail {
					assert.Zero(t, count(t, client, urls.DeliveryQueue), "the finished message was deleted")
					return
				}
				assert.Equal(t, 1, count(t, client, urls.DeliveryQueue), "the failed message stays")
				var got []types.Message
				deadline := time.Now().Add(bound)
				for len(got) == 0 && time.Now().Before(deadline) {
					out, err := client.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(urls.DeliveryQueue), WaitTimeSeconds: 1})
					require.NoError(t, err)
					got = out.Messages
				}
				require.Len(t, got, 1, "the failed message is received again")
				assert.Equal(t, `{"slow":true}`, aws.ToString(got[0].Body))
			})
		}
	}
}

// A batch that outlives the shutdown grace sees its context cancelled, so
// shutdown is bounded.
func TestESMShutdownGrace(t *testing.T) {
	b := testenv.Kumo(t)
	client := b.Clients.SQS
	urls := queues(t, client, 960)
	send(t, client, urls.DeliveryQueue, `{"stuck":true}`)
	started := make(chan struct{})
	cancel, done := start(t, client, ESMConfig{QueueURL: urls.DeliveryQueue, ShutdownGrace: 10 * time.Millisecond,
		Handler: func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
			close(started)
			<-ctx.Done()
			return events.SQSEventResponse{}, ctx.Err()
		}})
	waitFor(t, started, "the handler to start")
	cancel()
	waitFor(t, done, "Run to return after the grace")
	assert.Equal(t, 1, count(t, client, urls.DeliveryQueue), "the unfinished message is kept")
}

func TestFailures(t *testing.T) {
	ev := events.SQSEvent{Records: []events.SQSMessage{{MessageId: "a"}, {MessageId: "b"}}}
	tests := []struct {
		name string
		resp []string
		want map[string]bool
		err  bool
	}{
		{"none", nil, map[string]bool{}, false},
		{"one", []string{"b"}, map[string]bool{"b": true}, false},
		{"twice", []string{"a", "a"}, map[string]bool{"a": true}, false},
		{"empty", []string{""}, nil, true},
		{"unknown", []string{"a", "c"}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var resp events.SQSEventResponse
			for _, id := range tt.resp {
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: id})
			}
			got, err := failures(ev, resp)
			if tt.err {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestNewESMChecksConfig(t *testing.T) {
	client := testenv.Kumo(t).Clients.SQS
	h := func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
		return events.SQSEventResponse{}, nil
	}
	for name, cfg := range map[string]ESMConfig{
		"no url":     {Handler: h},
		"no handler": {QueueURL: "u"},
		"batch 11":   {QueueURL: "u", Handler: h, BatchSize: 11},
		"wait 21s":   {QueueURL: "u", Handler: h, WaitTime: 21 * time.Second},
		"pollers -1": {QueueURL: "u", Handler: h, Pollers: -1},
	} {
		_, err := NewESM(client, cfg)
		assert.Error(t, err, name)
	}
	_, err := NewESM(client, ESMConfig{QueueURL: "u", Handler: h})
	assert.NoError(t, err)
}

func TestToSQSEventMessageAttributes(t *testing.T) {
	ev := ToSQSEvent([]types.Message{{
		MessageId: aws.String("m1"), Body: aws.String("b"),
		MessageAttributes: map[string]types.MessageAttributeValue{"tenant": {DataType: aws.String("String"), StringValue: aws.String("acme")}},
	}}, "arn:aws:sqs:us-east-1:000000000000:q", "us-east-1")
	require.Len(t, ev.Records, 1)
	a := ev.Records[0].MessageAttributes["tenant"]
	assert.Equal(t, "String", a.DataType)
	assert.Equal(t, "acme", aws.ToString(a.StringValue))
	assert.NotNil(t, a.StringListValues, "lists are [] as Lambda writes them")
}

// doFunc is an aws.HTTPClient.
type doFunc func(*http.Request) (*http.Response, error)

func (f doFunc) Do(r *http.Request) (*http.Response, error) { return f(r) }

// A long poll under way when Run's context ends is waited for, and what it
// receives is processed and deleted: nothing is left in flight, where an
// emulator that keeps its state across restarts would lose it.
func TestESMFinishesTheReceiveUnderWay(t *testing.T) {
	for _, b := range testenv.SQSBackends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			urls := queues(t, b.Clients.SQS, 960)
			polling := make(chan struct{})
			var once sync.Once
			client := sqs.New(b.Clients.SQS.Options(), func(o *sqs.Options) {
				next := o.HTTPClient
				o.HTTPClient = doFunc(func(r *http.Request) (*http.Response, error) {
					if r.Header.Get("X-Amz-Target") == "AmazonSQS.ReceiveMessage" {
						once.Do(func() { close(polling) })
					}
					return next.Do(r)
				})
			})
			got := make(chan string, 1)
			cancel, done := start(t, client, ESMConfig{QueueURL: urls.DeliveryQueue, WaitTime: 20 * time.Second,
				Handler: func(_ context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
					got <- ev.Records[0].Body
					return events.SQSEventResponse{}, nil
				}})
			waitFor(t, polling, "the first long poll")
			cancel()
			send(t, b.Clients.SQS, urls.DeliveryQueue, `{"late":true}`)
			waitFor(t, done, "Run to return")
			select {
			case body := <-got:
				assert.Equal(t, `{"late":true}`, body)
			default:
				t.Fatal("what the poll under way received was not processed")
			}
			assert.Zero(t, count(t, b.Clients.SQS, urls.DeliveryQueue), "and deleted, not left in flight")
		})
	}
}
