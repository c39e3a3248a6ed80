package queue

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/systemprompt-io/webhooks/internal/jsonx"

	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// ParseEvent reads the body of a message on the events queue. It takes three
// shapes:
//
//   - native: {"event":"...","data":{...},"metadata":{...},"idempotency_key":"..."}
//     (data, metadata and idempotency_key optional);
//   - an EventBridge event, as an EventBridge rule with an SQS target sends
//     it: detail-type is the event, detail the data, and the metadata is
//     {"source","id","time","account","region","resources"} of the envelope;
//   - an SNS notification, as an SNS subscription without raw message
//     delivery sends it, whose Message is one of the other two. (With raw
//     message delivery, SNS sends the inner shape itself.)
//
// In the request it returns, Data and Metadata are compact JSON (nil when
// absent or null), and Via says how the event came ("sqs", "eventbridge",
// "sns" or "sns/eventbridge"). The idempotency key makes a redelivered
// message trigger nothing new: the producer's own key when it gave one (a
// native message's "idempotency_key", with Source FromAPI: such a key may
// come back in another message, so it is remembered as the API's are; an
// EventBridge event's id), else the id of the message that carried it (SNS
// MessageId, else SQS MessageId), which stays the same across redeliveries.
// Derived keys are prefixed ("eventbridge:", "sns:", "sqs:") so they cannot
// meet a key a client chose. Time is when the producer says the event
// happened (EventBridge's "time", else SNS's "Timestamp"), the same on every
// redelivery; zero for native messages.
//
// Messages are strict JSON (jsonx): a member name twice at any depth, one
// that matches a field only when case is ignored, invalid UTF-8 or a lone
// surrogate escape make a message malformed. Members a shape does not name
// are ignored.
//
// messageID is the SQS message id, the idempotency key of last resort. Every
// error wraps ErrMalformed and says what was wrong.
func ParseEvent(body, messageID string) (webhook.TriggerRequest, error) {
	t, err := parseEvent(body, messageID)
	if err != nil {
		return webhook.TriggerRequest{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return t, nil
}

func parseEvent(body, messageID string) (webhook.TriggerRequest, error) {
	top, err := object(body)
	if err != nil {
		return webhook.TriggerRequest{}, fmt.Errorf("event message: %w", err)
	}
	var t webhook.TriggerRequest
	if isSNS(top) {
		t, err = parseSNS(body)
	} else {
		t, err = parseInner(top, body)
	}
	if err != nil {
		return webhook.TriggerRequest{}, err
	}
	// An SNS notification without a MessageId falls back to the SQS one too.
	if t.IdempotencyKey == "" && messageID != "" {
		t.IdempotencyKey = "sqs:" + messageID
	}
	if t.Via == "" {
		t.Via = "sqs"
	}
	return t, nil
}

// object decodes a JSON object's top level, checked to be strict JSON at
// every depth (jsonx.Check): a member name twice, invalid UTF-8 or a lone
// surrogate escape make the message malformed.
func object(s string) (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	dec := json.NewDecoder(strings.NewReader(s))
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	if m == nil {
		return nil, errors.New("not a JSON object: null")
	}
	if dec.More() {
		return nil, errors.New("data after the JSON object")
	}
	if err := jsonx.Check([]byte(s)); err != nil {
		return nil, err
	}
	return m, nil
}

func isSNS(m map[string]json.RawMessage) bool {
	_, typ := m["Type"]
	_, topic := m["TopicArn"]
	_, msg := m["Message"]
	return typ && (topic || msg)
}

func parseSNS(body string) (webhook.TriggerRequest, error) {
	var n struct {
		Type      string  `json:"Type"`
		MessageID string  `json:"MessageId"`
		TopicArn  string  `json:"TopicArn"`
		Message   *string `json:"Message"`
		Timestamp string  `json:"Timestamp"`
	}
	if err := jsonx.UnmarshalOpen([]byte(body), &n); err != nil {
		return webhook.TriggerRequest{}, fmt.Errorf("SNS notification: %w", err)
	}
	if n.Type != "Notification" {
		// SubscriptionConfirmation reaches a queue only when a topic of
		// another account subscribes it; an operator confirms it.
		return webhook.TriggerRequest{}, fmt.Errorf("SNS %q message from %s, not a Notification: nothing to trigger", n.Type, n.TopicArn)
	}
	if n.Message == nil {
		return webhook.TriggerRequest{}, fmt.Errorf("SNS notification %s has no Message", n.MessageID)
	}
	inner, err := object(*n.Message)
	if err != nil {
		return webhook.TriggerRequest{}, fmt.Errorf("SNS notification %s: Message: %w", n.MessageID, err)
	}
	if isSNS(inner) {
		return webhook.TriggerRequest{}, fmt.Errorf("SNS notification %s: Message is itself an SNS message", n.MessageID)
	}
	t, err := parseInner(inner, *n.Message)
	if err != nil {
		return webhook.TriggerRequest{}, fmt.Errorf("SNS notification %s: %w", n.MessageID, err)
	}
	if t.IdempotencyKey == "" && n.MessageID != "" {
		t.IdempotencyKey = "sns:" + n.MessageID
	}
	if t.Time.IsZero() {
		t.Time, _ = time.Parse(time.RFC3339Nano, n.Timestamp)
	}
	if t.Via == "" {
		t.Via = "sns"
	} else {
		t.Via = "sns/" + t.Via
	}
	return t, nil
}

// parseInner reads a native message or an EventBridge event.
func parseInner(m map[string]json.RawMessage, body string) (webhook.TriggerRequest, error) {
	_, detailType := m["detail-type"]
	_, detail := m["detail"]
	_, event := m["event"]
	switch {
	case detailType && detail:
		return parseEventBridge(body)
	case event:
		return parseNative(m, body)
	case detailType:
		return webhook.TriggerRequest{}, errors.New(`EventBridge event without "detail"`)
	case detail:
		return webhook.TriggerRequest{}, errors.New(`EventBridge event without "detail-type"`)
	default:
		return webhook.TriggerRequest{}, errors.New(`event message is neither {"event","data","metadata"}, an EventBridge event nor an SNS notification`)
	}
}

func parseNative(m map[string]json.RawMessage, body string) (webhook.TriggerRequest, error) {
	if k, ok := m["kind"]; ok && string(k) == `"`+JobKind+`"` {
		return webhook.TriggerRequest{}, errors.New("a job message, not an event: it belongs on the delivery queue")
	}
	var n struct {
		Event          string          `json:"event"`
		Data           json.RawMessage `json:"data"`
		Metadata       json.RawMessage `json:"metadata"`
		IdempotencyKey string          `json:"idempotency_key"`
	}
	if err := jsonx.UnmarshalOpen([]byte(body), &n); err != nil {
		return webhook.TriggerRequest{}, fmt.Errorf("event message: %w", err)
	}
	if strings.TrimSpace(n.Event) == "" {
		return webhook.TriggerRequest{}, errors.New(`event message: "event" is empty`)
	}
	t := webhook.TriggerRequest{Event: n.Event, Data: jsonx.Compact(n.Data), Metadata: jsonx.Compact(n.Metadata),
		IdempotencyKey: n.IdempotencyKey, Source: webhook.FromQueue}
	if n.IdempotencyKey != "" {
		// A key the producer chose may come back in another message:
		// remember it, as the API does.
		t.Source = webhook.FromAPI
	}
	return t, nil
}

// eventBridgeMetadata is what an EventBridge envelope contributes as metadata.
type eventBridgeMetadata struct {
	Source    string   `json:"source"`
	ID        string   `json:"id"`
	Time      string   `json:"time"`
	Account   string   `json:"account"`
	Region    string   `json:"region"`
	Resources []string `json:"resources"`
}

func parseEventBridge(body string) (webhook.TriggerRequest, error) {
	var e struct {
		eventBridgeMetadata
		DetailType string          `json:"detail-type"`
		Detail     json.RawMessage `json:"detail"`
	}
	if err := jsonx.UnmarshalOpen([]byte(body), &e); err != nil {
		return webhook.TriggerRequest{}, fmt.Errorf("EventBridge event: %w", err)
	}
	if strings.TrimSpace(e.DetailType) == "" {
		return webhook.TriggerRequest{}, fmt.Errorf(`EventBridge event %s: "detail-type" is empty`, e.ID)
	}
	if e.Resources == nil {
		e.Resources = []string{}
	}
	meta, err := json.Marshal(e.eventBridgeMetadata)
	if err != nil {
		return webhook.TriggerRequest{}, fmt.Errorf("EventBridge event %s: %w", e.ID, err)
	}
	t := webhook.TriggerRequest{Event: e.DetailType, Data: jsonx.Compact(e.Detail), Metadata: meta, Via: "eventbridge", Source: webhook.FromQueue}
	t.Time, _ = time.Parse(time.RFC3339Nano, e.Time)
	if e.ID != "" {
		t.IdempotencyKey = "eventbridge:" + e.ID
	}
	return t, nil
}
