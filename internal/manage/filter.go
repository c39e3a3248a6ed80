package manage

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/systemprompt-io/webhooks/internal/filter"
	"github.com/systemprompt-io/webhooks/internal/jsonx"
	"github.com/systemprompt-io/webhooks/internal/trigger"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

func cloneRaw(r json.RawMessage) json.RawMessage { return bytes.Clone(r) }
func equalRaw(a, b json.RawMessage) bool         { return bytes.Equal(a, b) }

// setFilter validates a payload filter (filter.Parse: its errors name the
// path of the bad member, "filter.data.amount.$gte", and the size and depth
// bounds) and keeps its canonical form, the one stored and shown.
func setFilter(w *webhook.Webhook, raw json.RawMessage) error {
	f, err := filter.Parse(raw)
	if err != nil {
		return err
	}
	w.Filter = nil
	if f != nil {
		w.Filter, _ = f.MarshalJSON() // the canonical form always encodes
	}
	return nil
}

// FilterEvent is an event to try a webhook's filter on: the members a
// trigger gives the filter ({"event", "data", "metadata"}).
type FilterEvent struct {
	Event    string
	Data     json.RawMessage // a JSON object, or nil/null
	Metadata json.RawMessage // a JSON object, or nil/null
}

// TestFilter reports whether the event would pass webhook id's payload
// filter, as a trigger decides it; a webhook without a filter passes every
// event. The event is checked by the rules of a trigger (a known event,
// objects for data and metadata, the payload bound). Nothing else of a
// trigger is asked: not whether the webhook subscribes to the event or is
// active, and nothing is sent or stored.
func (s *Service) TestFilter(ctx context.Context, id string, ev FilterEvent) (bool, error) {
	if err := CheckWebhookID(id); err != nil {
		return false, err
	}
	if err := trigger.Validate(webhook.TriggerRequest{Event: ev.Event, Data: ev.Data, Metadata: ev.Metadata}); err != nil {
		return false, err
	}
	for _, m := range []struct {
		name string
		raw  json.RawMessage
	}{{"data", ev.Data}, {"metadata", ev.Metadata}} {
		if len(m.raw) > 0 && !json.Valid(m.raw) {
			return false, webhook.Invalid(m.name, "%s is not valid JSON", m.name)
		}
	}
	w, err := s.load(ctx, id)
	if err != nil {
		return false, err
	}
	f, err := filter.Parse(w.Filter)
	if err != nil {
		return false, fmt.Errorf("manage: stored filter of %s: %w", id, err)
	}
	ok, err := f.Match(ev.Event, jsonx.Compact(ev.Data), jsonx.Compact(ev.Metadata)) // as a trigger has them: null is missing
	if err != nil {
		return false, fmt.Errorf("manage: match filter of %s: %w", id, err)
	}
	return ok, nil
}
