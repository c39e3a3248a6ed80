package e2e

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// post sends a raw message to the events queue, as another AWS service would.
func (s *stack) post(body string) {
	s.t.Helper()
	_, err := s.clients.SQS.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(s.urls.EventsQueue), MessageBody: aws.String(body)})
	require.NoError(s.t, err)
}

func TestEventsQueueShapes(t *testing.T) {
	forEachBackend(t, stackOptions{}, func(t *testing.T, s *stack) {
		rcv := newReceiver(t)
		id := s.createWebhook(map[string]any{"name": "eq", "url": rcv.URL, "events": []string{"workflow.completed", "agent.failed", "custom"}})

		native := `{"event":"agent.failed","data":{"agent_id":"a1"},"metadata":{"source":"batch"}}`
		eventBridge := `{"version":"0","id":"6a7e8feb-b491-4cf7-a9f1-bf3703467718","detail-type":"workflow.completed","source":"com.example.workflows","account":"111122223333","time":"2024-01-01T12:00:00Z","region":"us-east-1","resources":[],"detail":{"workflow_id":"wf_01"}}`
		snsBody, err := json.Marshal(map[string]any{"Type": "Notification", "MessageId": "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a",
			"TopicArn": "arn:aws:sns:us-east-1:111122223333:t", "Message": `{"event":"custom","data":{"via":"sns"}}`,
			"Timestamp": "2024-01-01T12:00:01.000Z"})
		require.NoError(t, err)
		for _, b := range []string{native, eventBridge, string(snsBody)} {
			s.post(b)
		}

		got := rcv.waitRequests(t, 3, 20*time.Second)
		byEvent := map[string]map[string]any{}
		for _, r := range got {
			var body map[string]any
			require.NoError(t, json.Unmarshal(r.body, &body))
			byEvent[body["event"].(string)] = body
			assert.Equal(t, id, body["webhook_id"])
		}
		require.Len(t, byEvent, 3)
		assert.Equal(t, map[string]any{"agent_id": "a1"}, byEvent["agent.failed"]["data"])
		assert.Equal(t, map[string]any{"source": "batch"}, byEvent["agent.failed"]["metadata"])
		assert.Equal(t, map[string]any{"workflow_id": "wf_01"}, byEvent["workflow.completed"]["data"])
		md := byEvent["workflow.completed"]["metadata"].(map[string]any)
		assert.Equal(t, "com.example.workflows", md["source"])
		assert.Equal(t, "6a7e8feb-b491-4cf7-a9f1-bf3703467718", md["id"])
		assert.Equal(t, map[string]any{"via": "sns"}, byEvent["custom"]["data"])

		// The same EventBridge event again (EventBridge retries, SNS
		// redelivers): the same delivery, not a new one.
		s.post(eventBridge)
		s.waitDrained(20*time.Second, s.urls.EventsQueue, s.urls.DeliveryQueue)
		page, err := s.store.ListDeliveries(context.Background(), id, webhook.DeliveryFilter{})
		require.NoError(t, err)
		assert.Len(t, page.Items, 3, "a repeated event id makes no second delivery record")
	})
}

func TestEventsQueueGarbageReachesDLQ(t *testing.T) {
	forEachBackend(t, stackOptions{visibility: 1}, func(t *testing.T, s *stack) {
		rcv := newReceiver(t)
		s.createWebhook(map[string]any{"name": "g", "url": rcv.URL, "events": []string{"custom"}})
		garbage := []string{`not json at all`, `{"event":"no.such.event"}`, `[1,2,3]`}
		for _, g := range garbage {
			s.post(g)
		}
		s.post(`{"event":"custom","data":{"ok":true}}`) // a good one beside them still goes through
		rcv.waitRequests(t, 1, 20*time.Second)

		deadline := time.Now().Add(40 * time.Second)
		for s.queueDepth(s.urls.EventsDLQ) < len(garbage) {
			if time.Now().After(deadline) {
				t.Fatalf("DLQ has %d messages, want %d", s.queueDepth(s.urls.EventsDLQ), len(garbage))
			}
			time.Sleep(250 * time.Millisecond)
		}
		out, err := s.clients.SQS.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(s.urls.EventsDLQ), MaxNumberOfMessages: 10, WaitTimeSeconds: 1,
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{"ApproximateReceiveCount"},
		})
		require.NoError(t, err)
		var bodies []string
		for _, m := range out.Messages {
			bodies = append(bodies, aws.ToString(m.Body))
		}
		assert.ElementsMatch(t, garbage, bodies, "exactly the bad messages, unchanged")
		assert.Len(t, rcv.got(), 1)
	})
}

// A producer's own idempotency_key holds across separate messages (a
// producer that re-sends after a timeout): one delivery.
func TestEventsQueueProducerKey(t *testing.T) {
	forEachBackend(t, stackOptions{}, func(t *testing.T, s *stack) {
		rcv := newReceiver(t)
		id := s.createWebhook(map[string]any{"name": "pk", "url": rcv.URL, "events": []string{"custom"}})
		msg := `{"event":"custom","data":{"deploy":77},"idempotency_key":"deploy-77"}`
		s.post(msg)
		rcv.waitRequests(t, 1, 20*time.Second)
		s.post(msg)
		s.waitDrained(20*time.Second, s.urls.EventsQueue, s.urls.DeliveryQueue) // a duplicate would be delivered by then
		assert.Len(t, rcv.got(), 1)
		page, err := s.store.ListDeliveries(context.Background(), id, webhook.DeliveryFilter{})
		require.NoError(t, err)
		assert.Len(t, page.Items, 1)
	})
}
