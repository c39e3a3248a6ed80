package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

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
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// sampleWebhook is the webhook id the sample events in events/ name.
const sampleWebhook = "wh_0192f0c4a1b27c3d8e9f001122334455"

// The built bootstrap, under the Lambda runtime interface emulator, handles
// every delivery-*.json sample: a job is attempted and recorded, each event
// shape fans out into a job, and a garbage message is the one batch item
// failure.
func TestBootstrapHandlesSampleEvents(t *testing.T) {
	ctx := context.Background()
	s := uuid.NewString()[:8]
	stack, err := localaws.Start(ctx, localaws.Options{
		Endpoint: testenv.KumoURL(),
		Tables:   store.Tables{Webhooks: "fd-wh-" + s, Deliveries: "fd-dl-" + s},
		KeyAlias: "alias/fd-" + s, QueuePrefix: "fd-" + s + "-",
	})
	require.NoError(t, err)

	var mu sync.Mutex
	var got []*http.Request
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		mu.Lock()
		got = append(got, r)
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer rcv.Close()

	st := store.New(stack.Clients.DynamoDB, stack.Tables)
	now := time.Now().UTC()
	require.NoError(t, st.CreateWebhook(ctx, &webhook.Webhook{
		ID: sampleWebhook, Name: "sample", URL: rcv.URL, Method: "POST",
		Events: []string{"agent.started", "workflow.completed", "custom"}, Status: webhook.StatusActive,
		AuthType: webhook.AuthNone, Retry: webhook.DefaultRetryPolicy(), TimeoutMS: 5000, CreatedAt: now, UpdatedAt: now,
	}))

	fn := lambdatest.Start(t, lambdatest.Build(t, "./functions/delivery"), map[string]string{
		"TABLE_WEBHOOKS":        stack.Tables.Webhooks,
		"TABLE_DELIVERIES":      stack.Tables.Deliveries,
		"KMS_KEY_ID":            stack.KeyAlias,
		"DELIVERY_QUEUE_URL":    stack.Queues.DeliveryQueue,
		"EVENTS_QUEUE_URL":      stack.Queues.EventsQueue,
		"ALLOW_PRIVATE_TARGETS": "true", // the receiver is on loopback
		"RETENTION_DAYS":        "3650", // the sample job was created in 2025: keep it within retention
		"DYNAMODB_ENDPOINT":     stack.Endpoint,
		"SQS_ENDPOINT":          stack.Endpoint,
		"KMS_ENDPOINT":          stack.Endpoint,
	})
	invoke := func(file string) events.SQSEventResponse {
		t.Helper()
		out, err := fn.InvokeFile(t, "../../events/"+file)
		require.NoError(t, err, "%s\n%s", file, fn.Output())
		var resp events.SQSEventResponse
		require.NoError(t, json.Unmarshal(out, &resp), string(out))
		return resp
	}

	// A job: attempted now, recorded as succeeded.
	resp := invoke("delivery-sqs-job.json")
	assert.Empty(t, resp.BatchItemFailures)
	mu.Lock()
	require.Len(t, got, 1)
	assert.Equal(t, "dlv_0194218c6e0071a2b3c4d5e6f7a8b9c0", got[0].Header.Get("X-Webhook-Delivery"))
	assert.Equal(t, sampleWebhook, got[0].Header.Get("X-Webhook-Id"))
	mu.Unlock()
	d, err := st.GetDelivery(ctx, sampleWebhook, "dlv_0194218c6e0071a2b3c4d5e6f7a8b9c0")
	require.NoError(t, err)
	assert.Equal(t, webhook.DeliverySucceeded, d.Status)
	assert.Equal(t, 204, d.Attempts[0].StatusCode)

	// Each event shape fans out into one delivery for the sample webhook,
	// attempted in place (internal/delivery/inline.go): it arrives, and no
	// job goes through the DeliveryQueue.
	for _, f := range []string{"delivery-sqs-native.json", "delivery-sqs-eventbridge.json", "delivery-sqs-sns.json"} {
		assert.Empty(t, invoke(f).BatchItemFailures, f)
	}
	mu.Lock()
	require.Len(t, got, 4)
	for _, r := range got[1:] {
		assert.Equal(t, sampleWebhook, r.Header.Get("X-Webhook-Id"))
		assert.Equal(t, "workflow.completed", r.Header.Get("X-Webhook-Event"))
	}
	mu.Unlock()
	out, err := stack.Clients.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl: aws.String(stack.Queues.DeliveryQueue), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
	require.NoError(t, err)
	assert.Empty(t, out.Messages, "no job message for a delivery attempted in place")

	// Garbage beside a good message: only the garbage fails.
	resp = invoke("delivery-sqs-garbage.json")
	require.Len(t, resp.BatchItemFailures, 1)
	assert.Equal(t, "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", resp.BatchItemFailures[0].ItemIdentifier)
	assert.Contains(t, fn.Output(), "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "the bad message is logged with its id")
	if r := fn.Reports(); len(r) > 0 {
		t.Logf("init %s, first invoke %s", r[0].Init, r[0].Duration)
	}
}
