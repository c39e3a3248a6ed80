package queue_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/devtools/testenv"
	"github.com/systemprompt-io/webhooks/internal/queue"
)

// TestFairGroups checks that the stand-ins take a MessageGroupId on the
// standard delivery queue (SQS fair queues) and do not treat it as a FIFO
// group: three jobs of one webhook are received together, none held back
// until another is deleted. ElasticMQ reports the group back; kumo accepts
// and ignores it.
func TestFairGroups(t *testing.T) {
	for _, b := range testenv.SQSBackends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			urls := ensure(t, b.Clients.SQS, queue.Definitions(prefix(t)))
			q := queue.New(b.Clients.SQS, urls.DeliveryQueue, queue.WithFairGroups(true))
			jobs := []queue.Job{newJob(`{"n":1}`), newJob(`{"n":2}`), newJob(`{"n":3}`)}
			jobs[1].WebhookID, jobs[2].WebhookID = jobs[0].WebhookID, jobs[0].WebhookID
			require.NoError(t, q.SendJobs(context.Background(), jobs, nil))

			// Received and not deleted: a FIFO group would hold the others
			// back while one is in flight.
			var got []types.Message
			deadline := time.Now().Add(5 * time.Second)
			for len(got) < 3 && time.Now().Before(deadline) {
				out, err := b.Clients.SQS.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
					QueueUrl: aws.String(urls.DeliveryQueue), MaxNumberOfMessages: 10, WaitTimeSeconds: 1,
					MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
				})
				require.NoError(t, err)
				got = append(got, out.Messages...)
			}
			require.Len(t, got, 3, "one webhook's jobs are not serialised")
			for _, m := range got {
				if g, ok := m.Attributes["MessageGroupId"]; ok {
					assert.Equal(t, jobs[0].WebhookID, g)
				}
			}
		})
	}
}
