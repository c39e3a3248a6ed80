package webhook

import (
	"encoding/json"
	"time"
)

// TriggerRequest is one event to fan out to its subscribers, however it
// came: the body and Idempotency-Key of POST /events, or a message of the
// events queue. The trigger service validates it, once, before anything is
// written.
type TriggerRequest struct {
	Event    string          // the event's name, one of EventTypes
	Data     json.RawMessage // a JSON object, or nil/null
	Metadata json.RawMessage // a JSON object, or nil/null
	// IdempotencyKey makes a repeat trigger nothing new. How a repeat is
	// caught depends on Source.
	IdempotencyKey string
	Source         Source
	// Time is the event's time (the payload's timestamp); zero means now.
	// Queue requests carry a time that is the same on every redelivery, so
	// the ids derived from it are too.
	Time time.Time
	// Via says how a queued event came, for logs: "sqs", "eventbridge",
	// "sns" or "sns/eventbridge"; empty for POST /events.
	Via string
}

// Source says whose idempotency key a trigger request carries, which decides
// how a repeat is caught.
type Source int

const (
	// FromAPI: the key, if any, is one the caller chose (POST /events'
	// Idempotency-Key, or a native queue message's "idempotency_key"). A
	// repeat is caught by the key, which is stored with the first answer.
	FromAPI Source = iota
	// FromQueue: the key is the id of the message that carried the event
	// (stable across SQS redeliveries). Nothing is stored: the event and
	// delivery ids are derived from the key and Time, so a redelivered
	// message enqueues the same deliveries again and their records, keyed by
	// delivery id, stay single.
	FromQueue
)

// TriggerResult is the answer to a trigger: the event's id and how many
// deliveries it was fanned out to (one per active subscriber whose payload
// filter, if any, it passes).
type TriggerResult struct {
	EventID    string
	Deliveries int
}
