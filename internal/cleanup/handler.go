package cleanup

import (
	"context"

	"github.com/aws/aws-lambda-go/events"
)

// Handler returns the cleanup Lambda's handler: every invocation, normally
// the EventBridge schedule's "Scheduled Event", runs one sweep with the
// configured retention. The event's content does not matter, so an operator
// can also start a sweep by invoking the function with any event ({}).
func Handler(s *Sweeper, retentionDays int) func(context.Context, events.EventBridgeEvent) (Result, error) {
	return func(ctx context.Context, ev events.EventBridgeEvent) (Result, error) {
		s.Logger.Info("cleanup invoked", "event_id", ev.ID, "detail_type", ev.DetailType,
			"source", ev.Source, "event_time", ev.Time, "retention_days", retentionDays)
		return s.Sweep(ctx, retentionDays)
	}
}
