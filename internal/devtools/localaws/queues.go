package localaws

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/systemprompt-io/webhooks/internal/queue"
)

// CreateQueues creates the service's queues (and dead-letter queues) on the
// local SQS from their one definition in internal/queue, and returns their
// URLs. It is idempotent.
func CreateQueues(ctx context.Context, client *sqs.Client) (queue.URLs, error) {
	return queue.Ensure(ctx, client, "")
}
