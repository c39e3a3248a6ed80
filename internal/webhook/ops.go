package webhook

import "time"

// The operational events: the service's news about its own endpoints and
// deliveries, triggered like any event and put on an EventBridge bus.
const (
	EventWebhookFailing   = "webhook.failing"
	EventWebhookRecovered = "webhook.recovered"
	EventWebhookDisabled  = "webhook.disabled"
	EventDeliveryFailed   = "delivery.failed"
)

// OperationsSource is the EventBridge source of the operational events.
const OperationsSource = "webhooks"

// IsOperational reports whether event is one of the operational events. A
// delivery of one makes no operational event itself, so an operational
// webhook that fails cannot feed itself.
func IsOperational(event string) bool {
	switch event {
	case EventWebhookFailing, EventWebhookRecovered, EventWebhookDisabled, EventDeliveryFailed:
		return true
	}
	return false
}

// OpEvent is one operational event: its name and its data, the payload's
// "data" and the EventBridge detail.
type OpEvent struct {
	Event string
	Data  OpData
	// Key names the transition (its event, webhook or delivery, and attempt
	// or time): the same transition emitted twice derives the same event
	// and delivery ids, so its subscribers' deliveries stay single.
	Key string
	// Time is when the transition happened.
	Time time.Time
}

// OpData is an operational event's data. Fields without a value are left
// out: a circuit's transition has no delivery.
type OpData struct {
	WebhookID  string `json:"webhook_id"`
	Name       string `json:"name"`
	URL        string `json:"url"`
	DeliveryID string `json:"delivery_id,omitempty"`
	// DeliveryEvent is the event of the delivery the operational event is
	// about.
	DeliveryEvent string `json:"event,omitempty"`
	// Attempts is the number of the deciding attempt of that delivery: how
	// many it had.
	Attempts   int    `json:"attempts"`
	StatusCode int    `json:"last_status_code,omitempty"`
	Error      string `json:"last_error,omitempty"`
	// Reason says why a webhook was disabled: auto_disabled or gone.
	Reason StatusReason `json:"reason,omitempty"`
	// ConsecutiveFailures is the endpoint's failed attempts in a row
	// (webhook.failing, an auto-disable's webhook.disabled); NextProbeAt when
	// an opened circuit lets one probe through.
	ConsecutiveFailures int        `json:"consecutive_failures,omitempty"`
	NextProbeAt         *time.Time `json:"next_probe_at,omitempty"`
}
