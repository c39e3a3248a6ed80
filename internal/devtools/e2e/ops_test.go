package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/config"
	"github.com/systemprompt-io/webhooks/internal/delivery"
	"github.com/systemprompt-io/webhooks/internal/devtools/localaws"
	"github.com/systemprompt-io/webhooks/internal/devtools/testenv"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// watchBus creates the EventBridge bus name on the embedded emulator (every
// backend's EventBridge) with a rule matching the operational events. Its
// target is an SNS topic's ARN, which the emulator records as matched
// (busEvents) and sends nowhere: its SQS targets post to a fixed
// localhost:4566, not to a test's emulator.
func watchBus(t *testing.T, b testenv.Backend, name string) string {
	t.Helper()
	ctx := context.Background()
	eb := b.Clients.EventBridge
	bus, err := localaws.EnsureBus(ctx, eb, name)
	require.NoError(t, err)
	_, err = eb.PutRule(ctx, &eventbridge.PutRuleInput{
		Name: aws.String("ops"), EventBusName: aws.String(bus),
		EventPattern: aws.String(`{"source":["` + webhook.OperationsSource + `"]}`),
	})
	require.NoError(t, err)
	_, err = eb.PutTargets(ctx, &eventbridge.PutTargetsInput{
		Rule: aws.String("ops"), EventBusName: aws.String(bus),
		Targets: []ebtypes.Target{{Id: aws.String("record"), Arn: aws.String("arn:aws:sns:us-east-1:000000000000:" + name)}},
	})
	require.NoError(t, err)
	t.Cleanup(func() {
		_, _ = eb.RemoveTargets(context.Background(), &eventbridge.RemoveTargetsInput{Rule: aws.String("ops"), EventBusName: aws.String(bus), Ids: []string{"record"}})
		_, _ = eb.DeleteRule(context.Background(), &eventbridge.DeleteRuleInput{Name: aws.String("ops"), EventBusName: aws.String(bus)})
		_, _ = eb.DeleteEventBus(context.Background(), &eventbridge.DeleteEventBusInput{Name: aws.String(bus)})
	})
	return bus
}

// busEvent is an event the emulator's EventBridge matched to a rule.
type busEvent struct {
	Source       string `json:"Source"`
	DetailType   string `json:"DetailType"`
	Detail       string `json:"Detail"`
	EventBusName string `json:"EventBusName"`
}

// busEvents lists the events put on the stack's bus (the emulator's record
// of rule matches, read synchronously with PutEvents).
func (s *stack) busEvents() []busEvent {
	s.t.Helper()
	resp, err := http.Get(testenv.KumoURL() + "/kumo/eventbridge/delivered-events")
	require.NoError(s.t, err)
	defer resp.Body.Close()
	var all []busEvent
	require.NoError(s.t, json.NewDecoder(resp.Body).Decode(&all))
	var mine []busEvent
	for _, e := range all {
		if e.EventBusName == s.bus {
			mine = append(mine, e)
		}
	}
	return mine
}

// waitDepth waits until queue u holds exactly n messages (visible, in
// flight or delayed).
func (s *stack) waitDepth(u string, n int, within time.Duration) {
	s.t.Helper()
	deadline := time.Now().Add(within)
	for d := s.queueDepth(u); d != n; d = s.queueDepth(u) {
		if time.Now().After(deadline) {
			s.t.Fatalf("queue %s holds %d messages after %s, want %d", u, d, within, n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// opPayload is an operational event's delivery body.
type opPayload struct {
	WebhookID string         `json:"webhook_id"`
	Event     string         `json:"event"`
	Data      map[string]any `json:"data"`
	Metadata  map[string]any `json:"metadata"`
}

func opPayloads(t *testing.T, got []received) []opPayload {
	t.Helper()
	out := make([]opPayload, len(got))
	for i, r := range got {
		require.NoError(t, json.Unmarshal(r.body, &out[i]), string(r.body))
	}
	return out
}

// TestOperationalEvents: an operational webhook subscribed to the four
// operational events receives, at a real receiver, signed like any
// delivery, delivery.failed for a delivery that exhausted its attempts,
// webhook.failing when a circuit opened and webhook.disabled when the
// endpoint was auto-disabled an hour (of the pipeline's clock) after its
// first failure; each is also on the stack's EventBridge bus (source
// webhooks, detail-type the event). A second operational webhook that fails
// its own delivery.failed delivery makes no delivery.failed about it: no
// loop.
func TestOperationalEvents(t *testing.T) {
	clock := &offsetClock{}
	opt := stackOptions{now: clock.now, configure: func(c *config.Config) {
		c.CircuitOpenAfter, c.CircuitCooldown, c.DisableAfter = 2, time.Second, time.Hour
	}}
	for _, b := range backends(t) {
		t.Run(b.Name, func(t *testing.T) { // not parallel: one clock
			s := newStack(t, b, opt)
			opsRcv, badRcv := newReceiver(t, 200), newReceiver(t, 500)
			opsID := s.createWebhook(map[string]any{
				"name": "ops", "url": opsRcv.URL, "timeout_ms": 1000,
				"auth_type": "hmac", "auth_credentials": map[string]string{"secret": "ops-secret-0123456789abcdef"},
				"events": []string{webhook.EventWebhookFailing, webhook.EventWebhookRecovered, webhook.EventWebhookDisabled, webhook.EventDeliveryFailed},
			})
			badID := s.createWebhook(map[string]any{
				"name": "ops-down", "url": badRcv.URL, "events": []string{webhook.EventDeliveryFailed}, "timeout_ms": 1000,
				"retry": map[string]any{"strategy": "fixed", "max_attempts": 1},
			})

			// One delivery exhausts its single attempt: delivery.failed.
			onceRcv := newReceiver(t, 500)
			onceID := s.createWebhook(map[string]any{
				"name": "once", "url": onceRcv.URL, "events": []string{"agent.started"}, "timeout_ms": 1000,
				"retry": map[string]any{"strategy": "fixed", "max_attempts": 1},
			})
			failed := s.trigger("agent.started", onceID)
			assert.Equal(t, webhook.DeliveryFailed, s.waitFinal(onceID, failed, 30*time.Second).Status)
			got := opPayloads(t, opsRcv.waitRequests(t, 1, 30*time.Second))
			assert.Equal(t, webhook.EventDeliveryFailed, got[0].Event)
			assert.Equal(t, opsID, got[0].WebhookID, "the payload names the receiving webhook")
			assert.Equal(t, onceID, got[0].Data["webhook_id"])
			assert.Equal(t, "once", got[0].Data["name"])
			assert.Equal(t, onceRcv.URL, got[0].Data["url"])
			assert.Equal(t, failed, got[0].Data["delivery_id"])
			assert.Equal(t, "agent.started", got[0].Data["event"])
			assert.EqualValues(t, 1, got[0].Data["attempts"])
			assert.EqualValues(t, 500, got[0].Data["last_status_code"])
			assert.NotEmpty(t, got[0].Data["last_error"])
			assert.Equal(t, "webhooks", got[0].Metadata["source"])
			assert.NotEmpty(t, opsRcv.got()[0].header.Get(delivery.HeaderSignature), "signed like any delivery")

			// Another endpoint that is down: its circuit opens
			// (webhook.failing), and an hour later a failed probe
			// auto-disables it (webhook.disabled).
			downRcv := newReceiver(t, 500)
			downID := s.createWebhook(map[string]any{
				"name": "down", "url": downRcv.URL, "events": []string{"agent.stopped"}, "timeout_ms": 1000,
				"retry": map[string]any{"strategy": "fixed", "max_attempts": 10, "initial_delay_ms": 0},
			})
			s.trigger("agent.stopped", downID)
			s.waitCircuit(downID, "open", 30*time.Second)
			got = opPayloads(t, opsRcv.waitRequests(t, 2, 30*time.Second))
			assert.Equal(t, webhook.EventWebhookFailing, got[1].Event)
			assert.Equal(t, downID, got[1].Data["webhook_id"])
			assert.EqualValues(t, 2, got[1].Data["consecutive_failures"])
			assert.NotEmpty(t, got[1].Data["next_probe_at"])

			clock.advance(time.Hour)
			got = opPayloads(t, opsRcv.waitRequests(t, 3, 30*time.Second))
			assert.Equal(t, webhook.EventWebhookDisabled, got[2].Event)
			assert.Equal(t, downID, got[2].Data["webhook_id"])
			assert.Equal(t, "down", got[2].Data["name"])
			assert.Equal(t, "auto_disabled", got[2].Data["reason"])
			assert.EqualValues(t, 500, got[2].Data["last_status_code"])
			_, out := s.do("GET", "/webhooks/"+downID, nil)
			assert.Equal(t, "auto_disabled", out["status_reason"])

			// The failing operational webhook got delivery.failed once and
			// its own failure told nobody. Once its delivery is recorded
			// failed and the delivery queue holds only down's held job, its
			// handler has returned: an event it made would be queued or
			// delivered by now.
			s.waitFinal(badID, deliveryOf(s, badID), 30*time.Second)
			s.waitDepth(s.urls.DeliveryQueue, 1, 60*time.Second)
			assert.Len(t, badRcv.got(), 1, "one delivery.failed (about once's delivery), none about its own")
			page := s.waitRecords(badID, 1, 10*time.Second)
			assert.Equal(t, webhook.DeliveryFailed, page.Items[0].Status, "its own delivery failed")
			got = opPayloads(t, opsRcv.got())
			require.Len(t, got, 3, "no operational event about an operational event's delivery")
			for _, p := range got {
				assert.NotEqual(t, badID, p.Data["webhook_id"])
			}

			// Each is on the bus too, with its data as the detail.
			bus := s.busEvents()
			require.Len(t, bus, 3)
			for i, want := range []string{webhook.EventDeliveryFailed, webhook.EventWebhookFailing, webhook.EventWebhookDisabled} {
				assert.Equal(t, "webhooks", bus[i].Source)
				assert.Equal(t, want, bus[i].DetailType)
				var detail map[string]any
				require.NoError(t, json.Unmarshal([]byte(bus[i].Detail), &detail))
				assert.Equal(t, got[i].Data, detail, "the detail is the event's data")
			}
		})
	}
}
