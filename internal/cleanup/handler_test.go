package cleanup

import (
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The scheduled event sample in events/ is what EventBridge sends.
func readScheduleEvent(t *testing.T) events.EventBridgeEvent {
	t.Helper()
	raw, err := os.ReadFile("../../events/cleanup-schedule.json")
	require.NoError(t, err)
	var ev events.EventBridgeEvent
	require.NoError(t, json.Unmarshal(raw, &ev))
	require.Equal(t, "Scheduled Event", ev.DetailType)
	require.Equal(t, "aws.events", ev.Source)
	require.Len(t, ev.Resources, 1)
	assert.Regexp(t, `^arn:aws:events:[a-z0-9-]+:\d{12}:rule/.+`, ev.Resources[0])
	assert.JSONEq(t, `{}`, string(ev.Detail))
	return ev
}

func TestHandlerWithScheduleEvent(t *testing.T) {
	ev := readScheduleEvent(t)
	forEachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		expired := deliveriesAt(offsets(cutoff, -time.Minute, -3*day), 2)
		fresh := deliveriesAt(offsets(cutoff, time.Minute), 2)
		putWebhooks(t, e, webhookIDs...)
		putAll(ctx, t, e.db, e.deliveries, append(append([]deliveryItem{}, expired...), fresh...))
		setCursor(t, e, webhookIDs[0]) // a run that stopped after the first webhook

		res, err := Handler(e.sweeper(now), retention)(ctx, ev)
		require.NoError(t, err)

		out, err := json.Marshal(res)
		require.NoError(t, err)
		assert.JSONEq(t, `{"deleted":8,"webhooks":2,"complete":true,"cutoff":"2026-02-13T12:00:00Z",
			"retries":0,"calls":{"get_item":1,"query":3,"batch_write_item":2,"update_item":1}}`, string(out))
		var left []deliveryItem // the first webhook's, swept by the next run
		for _, d := range deliveriesAt(offsets(cutoff, -time.Minute, -3*day), 2) {
			if d.WebhookID == webhookIDs[0] {
				left = append(left, d)
			}
		}
		assert.Equal(t, idsOf(append(left, fresh...)), deliveryIDs(t, e.db, e.deliveries))
	})
}

func TestHandlerRefusesBadRetention(t *testing.T) {
	ev := readScheduleEvent(t)
	forEachBackend(t, func(t *testing.T, e *env) {
		_, err := Handler(e.sweeper(now), 0)(context.Background(), ev)
		require.ErrorContains(t, err, "retention must be from 1 to")
		assert.Equal(t, 0, e.calls.Total())
	})
}
