package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/devtools/lambdatest"
	"github.com/systemprompt-io/webhooks/internal/devtools/localaws"
	"github.com/systemprompt-io/webhooks/internal/devtools/testenv"
	"github.com/systemprompt-io/webhooks/internal/store"
)

// The built bootstrap, under the Lambda runtime interface emulator, answers
// the sample API Gateway events from the tables and key of the test's
// emulator.
func TestBootstrapAnswersSampleEvents(t *testing.T) {
	s := uuid.NewString()[:8]
	stack, err := localaws.Start(context.Background(), localaws.Options{
		Endpoint: testenv.KumoURL(),
		Tables:   store.Tables{Webhooks: "fn-wh-" + s, Deliveries: "fn-dl-" + s},
		KeyAlias: "alias/fn-" + s, QueuePrefix: "fn-" + s + "-",
	})
	require.NoError(t, err)

	fn := lambdatest.Start(t, lambdatest.Build(t, "./functions/api"), map[string]string{
		"TABLE_WEBHOOKS":     stack.Tables.Webhooks,
		"TABLE_DELIVERIES":   stack.Tables.Deliveries,
		"KMS_KEY_ID":         stack.KeyAlias,
		"DELIVERY_QUEUE_URL": stack.Queues.DeliveryQueue,
		"EVENTS_QUEUE_URL":   stack.Queues.EventsQueue,
		"DYNAMODB_ENDPOINT":  stack.Endpoint,
		"SQS_ENDPOINT":       stack.Endpoint,
		"KMS_ENDPOINT":       stack.Endpoint,
	})

	invoke := func(file string) (events.APIGatewayV2HTTPResponse, map[string]any) {
		t.Helper()
		out, err := fn.InvokeFile(t, "../../events/"+file)
		require.NoError(t, err, "%s\n%s", file, fn.Output())
		var resp events.APIGatewayV2HTTPResponse
		require.NoError(t, json.Unmarshal(out, &resp), string(out))
		var body map[string]any
		require.NoError(t, json.Unmarshal([]byte(resp.Body), &body), resp.Body)
		return resp, body
	}

	resp, body := invoke("api-create-webhook.json")
	assert.Equal(t, 201, resp.StatusCode, resp.Body)
	id, _ := body["id"].(string)
	require.NotEmpty(t, id)
	assert.Equal(t, "/webhooks/"+id, resp.Headers["Location"])
	assert.NotContains(t, resp.Body, "secret-token-123", "credentials are masked")

	resp, body = invoke("api-list-webhooks.json")
	assert.Equal(t, 200, resp.StatusCode, resp.Body)
	items, _ := body["items"].([]any)
	require.Len(t, items, 1)
	assert.Equal(t, id, items[0].(map[string]any)["id"])

	resp, body = invoke("api-create-invalid-json.json")
	assert.Equal(t, 400, resp.StatusCode)
	assert.Equal(t, "validation_failed", body["error"].(map[string]any)["code"])

	resp, _ = invoke("api-get-missing.json")
	assert.Equal(t, 404, resp.StatusCode)

	// The webhook created above subscribes to agent.started: the trigger
	// enqueues one job, and the same Idempotency-Key again answers the same.
	resp, body = invoke("api-trigger-event.json")
	assert.Equal(t, 202, resp.StatusCode, resp.Body)
	assert.EqualValues(t, 1, body["deliveries"])
	eventID := body["event_id"]
	resp, body = invoke("api-trigger-event.json")
	assert.Equal(t, 202, resp.StatusCode, resp.Body)
	assert.Equal(t, eventID, body["event_id"], "the same Idempotency-Key, the first answer")
	jobs, err := stack.Clients.SQS.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
		QueueUrl: aws.String(stack.Queues.DeliveryQueue), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
	require.NoError(t, err)
	require.Len(t, jobs.Messages, 1, "one job for one subscriber, none for the repeat")
	assert.Contains(t, aws.ToString(jobs.Messages[0].Body), id)

	resp, body = invoke("api-trigger-unknown-event.json")
	assert.Equal(t, 400, resp.StatusCode, resp.Body)
	assert.Equal(t, "event", body["error"].(map[string]any)["field"])

	resp, _ = invoke("api-list-deliveries.json")
	assert.Equal(t, 404, resp.StatusCode, "the sample's webhook does not exist here")

	// Every sample API event gets a well-formed answer from the binary, and
	// none an internal error (internal/app's TestSampleEvents pins each
	// one's exact status through the same handler).
	files, err := filepath.Glob("../../events/api-*.json")
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), 20)
	for _, f := range files {
		resp, _ := invoke(filepath.Base(f))
		assert.Less(t, resp.StatusCode, 500, "%s: %s", f, resp.Body)
		assert.NotEmpty(t, resp.Headers["X-Request-Id"], f)
	}

	assert.NotContains(t, fn.Output(), "secret-token-123", "credentials are never logged")
	if r := fn.Reports(); len(r) > 0 {
		t.Logf("init %s, first invoke %s", r[0].Init, r[0].Duration)
	}
}

// Without its configuration the function stops at start, and says why.
func TestBootstrapRefusesMissingConfig(t *testing.T) {
	fn := lambdatest.Start(t, lambdatest.Build(t, "./functions/api"), map[string]string{
		"DYNAMODB_ENDPOINT": testenv.KumoURL(),
		"KMS_ENDPOINT":      testenv.KumoURL(),
	})
	_, err := fn.InvokeFile(t, "../../events/api-healthz.json")
	require.Error(t, err)
	assert.Contains(t, fn.Output(), "KMS_KEY_ID")
}
