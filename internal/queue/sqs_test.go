package queue_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/devtools/awsmetrics"
	"github.com/systemprompt-io/webhooks/internal/devtools/testenv"
	"github.com/systemprompt-io/webhooks/internal/queue"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// Prefix returns a queue-name prefix no other test uses.
func prefix(t *testing.T) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return "t" + hex.EncodeToString(b) + "-"
}

// ensure creates a test's queues and deletes them when it ends.
func ensure(t *testing.T, client *sqs.Client, defs []queue.Definition) queue.URLs {
	t.Helper()
	urls, err := queue.EnsureDefinitions(context.Background(), client, defs)
	require.NoError(t, err)
	t.Cleanup(func() {
		for _, u := range []string{urls.DeliveryQueue, urls.EventsQueue, urls.DeliveryDLQ, urls.EventsDLQ} {
			_, _ = client.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: aws.String(u)})
		}
	})
	return urls
}

func counted(c *sqs.Client) (*sqs.Client, *awsmetrics.Calls) {
	calls, count := awsmetrics.Counter()
	return sqs.New(c.Options(), func(o *sqs.Options) { o.APIOptions = append(o.APIOptions, count) }), calls
}

func newJob(data string) queue.Job {
	now := time.Now()
	return queue.Job{
		DeliveryID: webhook.NewID(webhook.DeliveryIDPrefix),
		WebhookID:  webhook.NewID(webhook.WebhookIDPrefix),
		EventID:    webhook.NewID(webhook.EventIDPrefix),
		Event:      "agent.started",
		Attempt:    1,
		CreatedAt:  now,
		Timestamp:  now,
		Data:       json.RawMessage(data),
	}
}

// receive long-polls url until it holds n messages or the bound passes (the
// caller then asserts on what it got). It deletes what it received. Its
// visibility timeout is short, so a receive whose answer was lost on the way
// (the SDK then retries it) hides its messages for seconds, not the queue's
// 30: they are received again within the bound.
func receive(t *testing.T, client *sqs.Client, url string, n int, bound time.Duration) []types.Message {
	t.Helper()
	var got []types.Message
	deadline := time.Now().Add(bound)
	for len(got) < n && time.Now().Before(deadline) {
		out, err := client.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(url), MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: 5,
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
		})
		require.NoError(t, err)
		for _, m := range out.Messages {
			got = append(got, m)
			_, err := client.DeleteMessage(context.Background(), &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle})
			require.NoError(t, err)
		}
	}
	return got
}

func TestEnsure(t *testing.T) {
	for _, b := range testenv.SQSBackends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			client, calls := counted(b.Clients.SQS)
			p := prefix(t)
			urls := ensure(t, client, queue.Definitions(p))
			for _, u := range []string{urls.DeliveryQueue, urls.DeliveryDLQ, urls.EventsQueue, urls.EventsDLQ} {
				require.NotEmpty(t, u)
			}
			assert.True(t, strings.HasSuffix(urls.DeliveryQueue, "/"+p+"webhooks-delivery"), urls.DeliveryQueue)
			assert.True(t, strings.HasSuffix(urls.EventsDLQ, "/"+p+"webhooks-events-dlq"), urls.EventsDLQ)

			again, err := queue.Ensure(ctx, client, p)
			require.NoError(t, err)
			assert.Equal(t, urls, again, "ensure is idempotent")
			assert.Zero(t, calls.Get("SetQueueAttributes"), "nothing to change")

			arn := func(u string) string {
				out, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(u), AttributeNames: []types.QueueAttributeName{"QueueArn"}})
				require.NoError(t, err)
				return out.Attributes["QueueArn"]
			}
			for _, c := range []struct {
				src, dlq string
				max      int
			}{{urls.DeliveryQueue, urls.DeliveryDLQ, 5}, {urls.EventsQueue, urls.EventsDLQ, 3}} {
				out, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(c.src), AttributeNames: []types.QueueAttributeName{"All"}})
				require.NoError(t, err)
				target, max, err := queue.ParseRedrivePolicy(out.Attributes["RedrivePolicy"])
				require.NoError(t, err)
				assert.Equal(t, arn(c.dlq), target)
				assert.Equal(t, c.max, max)
				assert.Equal(t, "960", out.Attributes["VisibilityTimeout"])
				if v, ok := out.Attributes["MessageRetentionPeriod"]; ok { // ElasticMQ does not keep it
					assert.Equal(t, "345600", v)
				}
			}

			// Changed definitions converge on the existing queues.
			defs := queue.Definitions(p)
			defs[2].Attributes["VisibilityTimeout"] = "7"
			defs[3].MaxReceiveCount = 4
			_, err = queue.EnsureDefinitions(ctx, client, defs)
			require.NoError(t, err)
			out, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(urls.DeliveryQueue), AttributeNames: []types.QueueAttributeName{"VisibilityTimeout"}})
			require.NoError(t, err)
			assert.Equal(t, "7", out.Attributes["VisibilityTimeout"])
			out, err = client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(urls.EventsQueue), AttributeNames: []types.QueueAttributeName{"RedrivePolicy"}})
			require.NoError(t, err)
			_, max, err := queue.ParseRedrivePolicy(out.Attributes["RedrivePolicy"])
			require.NoError(t, err)
			assert.Equal(t, 4, max)
		})
	}
}

func TestSendJobs(t *testing.T) {
	for _, b := range testenv.SQSBackends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			client, calls := counted(b.Clients.SQS)
			urls := ensure(t, b.Clients.SQS, queue.Definitions(prefix(t)))
			jobs := make([]queue.Job, 25)
			want := map[string]bool{}
			for i := range jobs {
				jobs[i] = newJob(`{"i":` + strconv.Itoa(i) + `,"html":"<b>&</b>"}`)
				want[jobs[i].DeliveryID] = true
			}
			require.NoError(t, queue.New(client, urls.DeliveryQueue).SendJobs(context.Background(), jobs, nil))
			assert.Equal(t, 3, calls.Get("SendMessageBatch"))
			assert.Equal(t, 3, calls.Total())

			got := receive(t, b.Clients.SQS, urls.DeliveryQueue, 25, 30*time.Second)
			require.Len(t, got, 25)
			for _, m := range got {
				j, err := queue.DecodeJob(aws.ToString(m.Body))
				require.NoError(t, err)
				assert.True(t, want[j.DeliveryID], "unexpected job %s", j.DeliveryID)
				delete(want, j.DeliveryID)
			}
			assert.Empty(t, want, "every job arrives once")
		})
	}
}

func TestDelayedJob(t *testing.T) {
	for _, b := range testenv.SQSBackends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			client := b.Clients.SQS
			urls := ensure(t, client, queue.Definitions(prefix(t)))
			q := queue.New(client, urls.DeliveryQueue)
			later, now := newJob(`{"n":"later"}`), newJob(`{"n":"now"}`)
			require.NoError(t, q.SendJobs(ctx, []queue.Job{later, now}, []time.Duration{3 * time.Second, 0}))

			out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(urls.DeliveryQueue), MaxNumberOfMessages: 10})
			require.NoError(t, err)
			var first []string
			for _, m := range out.Messages {
				j, err := queue.DecodeJob(aws.ToString(m.Body))
				require.NoError(t, err)
				first = append(first, j.DeliveryID)
				_, _ = client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(urls.DeliveryQueue), ReceiptHandle: m.ReceiptHandle})
			}
			assert.Equal(t, []string{now.DeliveryID}, first, "the delayed job is not receivable at once")

			got := receive(t, client, urls.DeliveryQueue, 1, 30*time.Second)
			require.Len(t, got, 1, "the delayed job arrives later")
			j, err := queue.DecodeJob(aws.ToString(got[0].Body))
			require.NoError(t, err)
			assert.Equal(t, later.DeliveryID, j.DeliveryID)
		})
	}
}

func TestPayloadLimitOnTheWire(t *testing.T) {
	for _, b := range testenv.SQSBackends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			client, calls := counted(b.Clients.SQS)
			urls := ensure(t, b.Clients.SQS, queue.Definitions(prefix(t)))
			q := queue.New(client, urls.DeliveryQueue)

			// The largest payload, of characters that need care: quotes
			// (escaped in the SQS request), HTML and a noncharacter SQS
			// refuses raw.
			meta := `{"m":"<&>"}`
			head, tail := `{"s":"`, `","q":"\"\"\"\"","nc":"`+"\uFFFE"+`"}`
			data := head + strings.Repeat("x", queue.MaxPayloadBytes-len(meta)-len(head)-len(tail)) + tail
			j := newJob(data)
			j.Metadata = json.RawMessage(meta)
			require.NoError(t, queue.CheckPayload(j.Data, j.Metadata))
			require.Equal(t, queue.MaxPayloadBytes, len(data)+len(meta), "the payload is exactly at the limit")
			require.NoError(t, q.SendJobs(ctx, []queue.Job{j}, nil))

			got := receive(t, b.Clients.SQS, urls.DeliveryQueue, 1, 30*time.Second)
			require.Len(t, got, 1)
			back, err := queue.DecodeJob(aws.ToString(got[0].Body))
			require.NoError(t, err)
			var d1, d2 any
			require.NoError(t, json.Unmarshal(j.Data, &d1))
			require.NoError(t, json.Unmarshal(back.Data, &d2))
			assert.Equal(t, d1, d2, "the payload arrives whole")

			calls.Reset()
			j.Data = json.RawMessage(data[:len(data)-2] + `x"}`)
			err = q.SendJobs(ctx, []queue.Job{j}, nil)
			require.Error(t, err)
			assert.Equal(t, webhook.ETooLarge, webhook.ErrorCode(err))
			assert.Zero(t, calls.Total(), "refused before calling SQS")
		})
	}
}

func TestSendRawEvent(t *testing.T) {
	for _, b := range testenv.SQSBackends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			urls := ensure(t, b.Clients.SQS, queue.Definitions(prefix(t)))
			body := `{"event":"custom","data":{"message":"test"},"metadata":{"source":"cli"}}`
			require.NoError(t, queue.New(b.Clients.SQS, urls.EventsQueue).Send(context.Background(), body))
			got := receive(t, b.Clients.SQS, urls.EventsQueue, 1, 30*time.Second)
			require.Len(t, got, 1)
			tr, err := queue.ParseEvent(aws.ToString(got[0].Body), aws.ToString(got[0].MessageId))
			require.NoError(t, err)
			assert.Equal(t, "custom", tr.Event)
			assert.Equal(t, "sqs:"+aws.ToString(got[0].MessageId), tr.IdempotencyKey)
		})
	}
}
