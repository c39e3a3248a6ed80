package awsmetrics_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/stretchr/testify/assert"

	"github.com/systemprompt-io/webhooks/internal/devtools/awsmetrics"
	"github.com/systemprompt-io/webhooks/internal/devtools/testenv"
)

func TestCounter(t *testing.T) {
	calls, count := awsmetrics.Counter()
	base := testenv.Kumo(t).Clients.SQS
	client := sqs.New(base.Options(), func(o *sqs.Options) { o.APIOptions = append(o.APIOptions, count) })
	ctx := context.Background()

	_, err := client.ListQueues(ctx, &sqs.ListQueuesInput{})
	assert.NoError(t, err)
	_, err = client.ListQueues(ctx, &sqs.ListQueuesInput{})
	assert.NoError(t, err)
	_, err = client.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("no-such-queue-awsmetrics")})
	assert.Error(t, err, "a call that fails on the server still counts")
	_, err = client.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{})
	assert.Error(t, err, "a call the SDK refuses before sending does not")

	assert.Equal(t, 2, calls.Get("ListQueues"))
	assert.Equal(t, 1, calls.Get("GetQueueUrl"))
	assert.Equal(t, 3, calls.Total())
	assert.Equal(t, map[string]int{"ListQueues": 2, "GetQueueUrl": 1}, calls.Snapshot())

	_, _ = base.ListQueues(ctx, &sqs.ListQueuesInput{})
	assert.Equal(t, 3, calls.Total(), "only the instrumented client counts")

	calls.Reset()
	assert.Zero(t, calls.Total())
}
