package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/systemprompt-io/webhooks/internal/jsonx"
	"github.com/systemprompt-io/webhooks/internal/trigger"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// BatchTriggerer triggers several events in one request: POST
// /events/batch (implemented by *trigger.Service, which documents the
// rules). results[i] and errs[i] answer reqs[i]; err refuses the whole
// batch. While Options.Batcher is nil that route answers 404.
type BatchTriggerer interface {
	Batch(ctx context.Context, reqs []webhook.TriggerRequest) (results []webhook.TriggerResult, errs []error, err error)
}

// batchEvent is one member of POST /events/batch's "events".
type batchEvent struct {
	Event          string          `json:"event"`
	Data           json.RawMessage `json:"data"`
	Metadata       json.RawMessage `json:"metadata"`
	IdempotencyKey *string         `json:"idempotency_key"`
}

// batchJSON is the answer to POST /events/batch: items[i], a triggerJSON or
// an errorBody, answers events[i].
type batchJSON struct {
	Items []any `json:"items"`
}

// triggerBatch answers POST /events/batch. The body as a whole (size, JSON,
// the "events" array and its length) is checked first and refused whole;
// then each event is read and answered on its own, so one bad event never
// stops the others.
func (a *server) triggerBatch(w http.ResponseWriter, r *http.Request) {
	raws, err := readBatch(w, r)
	if err == nil {
		err = trigger.CheckBatchSize(len(raws))
	}
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	errs := make([]error, len(raws))
	var (
		reqs  []webhook.TriggerRequest
		index []int // reqs[k] is events[index[k]]
	)
	for i, raw := range raws {
		req, err := batchRequest(raw)
		if err != nil {
			errs[i] = err
			continue
		}
		reqs = append(reqs, req)
		index = append(index, i)
	}
	results := make([]webhook.TriggerResult, len(raws))
	if len(reqs) > 0 {
		res, rerrs, err := a.Batcher.Batch(r.Context(), reqs)
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		for k, i := range index {
			results[i], errs[i] = res[k], rerrs[k]
		}
	}

	out := batchJSON{Items: make([]any, len(raws))}
	accepted, deliveries := 0, 0
	seen := map[string]bool{} // a key twice in the batch answers one event twice
	for i := range raws {
		if errs[i] != nil {
			out.Items[i] = errorBody{Error: a.itemError(r, i, errs[i])}
			continue
		}
		accepted++
		if !seen[results[i].EventID] {
			seen[results[i].EventID] = true
			deliveries += results[i].Deliveries
		}
		out.Items[i] = triggerJSON{EventID: results[i].EventID, Deliveries: results[i].Deliveries}
		a.log.DebugContext(r.Context(), "event triggered", "request_id", requestID(r.Context()), "item", i,
			"event_id", results[i].EventID, "deliveries", results[i].Deliveries)
	}
	// One summary on the request's log line instead of a line per event.
	addLogAttrs(r.Context(), "events", len(raws), "accepted", accepted, "deliveries", deliveries)
	writeJSON(w, http.StatusAccepted, out)
}

// batchRequest reads one member of "events": strict JSON, as a body of
// POST /events is, with its own idempotency key. Errors name the field
// within the event; itemError puts events[i] in front.
func batchRequest(raw json.RawMessage) (webhook.TriggerRequest, error) {
	if raw[0] != '{' {
		return webhook.TriggerRequest{}, webhook.Invalid("", "an event must be a JSON object")
	}
	var in batchEvent
	if err := jsonx.Check(raw); err != nil {
		return webhook.TriggerRequest{}, jsonError(err)
	}
	if err := jsonx.Unmarshal(raw, &in); err != nil {
		return webhook.TriggerRequest{}, jsonError(err)
	}
	req := webhook.TriggerRequest{Event: in.Event, Data: in.Data, Metadata: in.Metadata, Source: webhook.FromAPI}
	if in.IdempotencyKey != nil {
		if *in.IdempotencyKey == "" {
			return req, webhook.Invalid("idempotency_key", "idempotency_key is empty; give a non-empty key, or none")
		}
		req.IdempotencyKey = *in.IdempotencyKey
	}
	return req, nil
}

// itemError is events[i]'s error as the API shows errors, its field named
// from the top of the body (events[3].data). As for a whole request,
// internal errors are logged and shown as "internal error".
func (a *server) itemError(r *http.Request, i int, err error) errorDetail {
	field := fmt.Sprintf("events[%d]", i)
	switch f := webhook.ErrorField(err); f {
	case "":
	case "Idempotency-Key": // the trigger service's name for the key
		field += ".idempotency_key"
	default:
		field += "." + f
	}
	code := webhook.ErrorCode(err)
	switch StatusOf(err) {
	case http.StatusServiceUnavailable:
		a.log.WarnContext(r.Context(), "batch event failed part-way", "request_id", requestID(r.Context()), "item", i, "err", err)
	case http.StatusInternalServerError:
		code = webhook.EInternal
		a.log.ErrorContext(r.Context(), "batch event failed", "request_id", requestID(r.Context()), "item", i, "err", err)
	}
	return errorDetail{Code: code, Message: webhook.ErrorMessage(err), Field: field}
}

// readBatch reads POST /events/batch's body, at most
// webhook.MaxBatchBodyBytes: one JSON object whose only member is "events",
// an array, returned member by member, unchecked. Strict JSON (jsonx) is
// applied to each event apart, so that one event's duplicate member refuses
// that event, not the batch.
func readBatch(w http.ResponseWriter, r *http.Request) ([]json.RawMessage, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, webhook.MaxBatchBodyBytes))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, webhook.Errorf(webhook.ETooLarge, "request body is larger than %d bytes", webhook.MaxBatchBodyBytes)
	} else if err != nil {
		return nil, webhook.Errorf(webhook.EInvalid, "request body could not be read")
	}
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil, webhook.Errorf(webhook.EInvalid, "request body is empty; send a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil {
		return nil, jsonError(err)
	} else if tok != json.Delim('{') {
		return nil, webhook.Errorf(webhook.EInvalid, "request body must be a JSON object")
	}
	var (
		events []json.RawMessage
		seen   bool
	)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, jsonError(err)
		}
		switch name, _ := tok.(string); {
		case name != "events":
			name = webhook.Clip(name, 200)
			return nil, webhook.Invalid(name, "unknown field %q", name)
		case seen:
			return nil, webhook.Invalid("events", "events is given more than once; give each member once")
		}
		seen = true
		if tok, err := dec.Token(); err != nil {
			return nil, jsonError(err)
		} else if tok != json.Delim('[') {
			return nil, webhook.Invalid("events", "events must be an array of events")
		}
		events = []json.RawMessage{}
		for dec.More() {
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return nil, jsonError(err)
			}
			events = append(events, raw)
		}
		if _, err := dec.Token(); err != nil { // ]
			return nil, jsonError(err)
		}
	}
	if _, err := dec.Token(); err != nil { // }
		return nil, jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, webhook.Errorf(webhook.EInvalid, "request body has data after the JSON object")
	}
	if !seen {
		return nil, webhook.Invalid("events", "events is required")
	}
	return events, nil
}
