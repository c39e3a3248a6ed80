package ops

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/webhook"
)

type fakeTrigger struct {
	reqs []webhook.TriggerRequest
	err  error
}

func (f *fakeTrigger) TriggerBatch(_ context.Context, reqs []webhook.TriggerRequest) ([]webhook.TriggerResult, []error) {
	f.reqs = append(f.reqs, reqs...)
	return make([]webhook.TriggerResult, len(reqs)), []error{f.err}
}

type fakeEB struct {
	in     []*eventbridge.PutEventsInput
	err    error
	failed bool // answer a failed entry
}

func (f *fakeEB) PutEvents(_ context.Context, in *eventbridge.PutEventsInput, _ ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error) {
	f.in = append(f.in, in)
	if f.err != nil {
		return nil, f.err
	}
	if f.failed {
		return &eventbridge.PutEventsOutput{FailedEntryCount: 1, Entries: []types.PutEventsResultEntry{{
			ErrorCode: aws.String("ThrottlingException"), ErrorMessage: aws.String("slow down")}}}, nil
	}
	return &eventbridge.PutEventsOutput{Entries: []types.PutEventsResultEntry{{EventId: aws.String("e1")}}}, nil
}

var at = time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)

func sample() webhook.OpEvent {
	return webhook.OpEvent{
		Event: webhook.EventDeliveryFailed, Key: "delivery.failed:dlv_1#3", Time: at,
		Data: webhook.OpData{WebhookID: "wh_1", Name: "orders", URL: "https://example.com/h",
			DeliveryID: "dlv_1", DeliveryEvent: "agent.started", Attempts: 3, StatusCode: 503, Error: "endpoint answered 503"},
	}
}

func TestEmit(t *testing.T) {
	for _, tc := range []struct {
		name               string
		triggerErr, busErr error
		busFailed          bool
		noBus              bool
		wantLog            string
	}{
		{name: "both"},
		{name: "no bus", noBus: true},
		{name: "trigger fails, the bus still gets it", triggerErr: errors.New("sqs down"), wantLog: "trigger operational event"},
		{name: "PutEvents fails: logged", busErr: errors.New("throttled"), wantLog: "put operational event on the bus"},
		{name: "a failed entry: logged", busFailed: true, wantLog: "ThrottlingException"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			tr, eb := &fakeTrigger{err: tc.triggerErr}, &fakeEB{err: tc.busErr, failed: tc.busFailed}
			var bus Publisher = NewBus(eb, "ops-bus")
			if tc.noBus {
				bus = nil
			}
			New(tr, bus, slog.New(slog.NewJSONHandler(&logs, nil))).Emit(context.Background(), sample())

			require.Len(t, tr.reqs, 1)
			r := tr.reqs[0]
			assert.Equal(t, webhook.EventDeliveryFailed, r.Event)
			assert.Equal(t, webhook.FromQueue, r.Source, "ids derived from the key: a repeat enqueues the same deliveries")
			assert.Equal(t, "delivery.failed:dlv_1#3", r.IdempotencyKey)
			assert.Equal(t, at, r.Time)
			assert.JSONEq(t, `{"webhook_id":"wh_1","name":"orders","url":"https://example.com/h","delivery_id":"dlv_1",
				"event":"agent.started","attempts":3,"last_status_code":503,"last_error":"endpoint answered 503"}`, string(r.Data))
			assert.JSONEq(t, `{"source":"webhooks"}`, string(r.Metadata))

			if tc.noBus {
				assert.Empty(t, eb.in)
			} else {
				require.Len(t, eb.in, 1)
				e := eb.in[0].Entries[0]
				assert.Equal(t, "ops-bus", aws.ToString(e.EventBusName))
				assert.Equal(t, "webhooks", aws.ToString(e.Source))
				assert.Equal(t, webhook.EventDeliveryFailed, aws.ToString(e.DetailType))
				assert.JSONEq(t, string(r.Data), aws.ToString(e.Detail), "detail = the event's data")
			}
			if tc.wantLog != "" {
				assert.Contains(t, logs.String(), tc.wantLog)
				assert.Contains(t, logs.String(), `"level":"ERROR"`)
			} else {
				assert.NotContains(t, logs.String(), `"level":"ERROR"`)
			}
		})
	}
}

func TestOpDataLeavesOutWhatIsNot(t *testing.T) {
	b, err := json.Marshal(webhook.OpData{WebhookID: "wh_1", Name: "n", URL: "https://x", Attempts: 10, ConsecutiveFailures: 10})
	require.NoError(t, err)
	assert.JSONEq(t, `{"webhook_id":"wh_1","name":"n","url":"https://x","attempts":10,"consecutive_failures":10}`, string(b))
}

func TestIsOperational(t *testing.T) {
	for _, e := range []string{webhook.EventWebhookFailing, webhook.EventWebhookRecovered, webhook.EventWebhookDisabled, webhook.EventDeliveryFailed} {
		assert.True(t, webhook.IsOperational(e), e)
		assert.True(t, webhook.IsEvent(e), "%s is in the catalogue", e)
	}
	assert.False(t, webhook.IsOperational("agent.failed"))
}
