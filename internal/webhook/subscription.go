package webhook

// Subscription is an entry of an event's subscription index as the trigger
// reads it: an active webhook subscribed to the event and its payload filter
// in canonical form ("" for none), copied onto the entry so that fanning an
// event out reads nothing but the index.
type Subscription struct {
	WebhookID string
	Filter    string
}
