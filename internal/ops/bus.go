package ops

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// PutEventsAPI is the EventBridge call the bus makes (*eventbridge.Client).
type PutEventsAPI interface {
	PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, optFns ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

var _ PutEventsAPI = (*eventbridge.Client)(nil)

// Bus puts operational events on one EventBridge bus: source "webhooks",
// detail-type the event's name, detail its data.
type Bus struct {
	client PutEventsAPI
	name   string
}

var _ Publisher = (*Bus)(nil)

// NewBus returns the bus named name (a name or an ARN; "default" is the
// account's default bus, also what an empty name means).
func NewBus(client PutEventsAPI, name string) *Bus {
	if name == "" {
		name = "default"
	}
	return &Bus{client: client, name: name}
}

// Publish puts one event on the bus. PutEvents answers 200 with a failed
// entry for an event it refused: that is an error here too.
func (b *Bus) Publish(ctx context.Context, event string, detail json.RawMessage) error {
	out, err := b.client.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{
		EventBusName: aws.String(b.name),
		Source:       aws.String(webhook.OperationsSource),
		DetailType:   aws.String(event),
		Detail:       aws.String(string(detail)),
	}}})
	if err != nil {
		return errf("put %s on bus %s: %w", event, b.name, err)
	}
	if out.FailedEntryCount > 0 && len(out.Entries) > 0 {
		e := out.Entries[0]
		return errf("put %s on bus %s: %s: %s", event, b.name, aws.ToString(e.ErrorCode), aws.ToString(e.ErrorMessage))
	}
	return nil
}
