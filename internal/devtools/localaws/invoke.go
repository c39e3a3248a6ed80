package localaws

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// Invoker calls functions through the Lambda Invoke API at Endpoint, as
// `sam local start-lambda` serves it, so that the local event source
// mappings and schedule feed the functions `sam build` made (in SAM's
// containers) instead of handlers in this process.
type Invoker struct {
	Endpoint string       // e.g. http://127.0.0.1:3002
	Client   *http.Client // default http.DefaultClient
}

// maxPayload bounds a function's answer, as Lambda's 6 MB response limit.
const maxPayload = 6 << 20

// SQS is the handler that invokes fn with each batch and returns its
// partial batch response. A function error fails the whole batch, as with
// Lambda's event source mapping.
func (i Invoker) SQS(fn string) SQSHandler {
	return func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		var resp events.SQSEventResponse
		err := i.Invoke(ctx, fn, ev, &resp)
		return resp, err
	}
}

// Schedule is the schedule handler that invokes fn.
func (i Invoker) Schedule(fn string) func(context.Context, events.EventBridgeEvent) error {
	return func(ctx context.Context, ev events.EventBridgeEvent) error {
		return i.Invoke(ctx, fn, ev, nil)
	}
}

// Invoke calls fn synchronously with in as its event and decodes its answer
// into out (unless nil).
func (i Invoker) Invoke(ctx context.Context, fn string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("invoke %s: %w", fn, err)
	}
	u := strings.TrimSuffix(i.Endpoint, "/") + "/2015-03-31/functions/" + url.PathEscape(fn) + "/invocations"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("invoke %s: %w", fn, err)
	}
	req.Header.Set("Content-Type", "application/json")
	client := i.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("invoke %s: %w", fn, err)
	}
	defer resp.Body.Close()
	payload, err := io.ReadAll(io.LimitReader(resp.Body, maxPayload+1))
	switch {
	case err != nil:
		return fmt.Errorf("invoke %s: read answer: %w", fn, err)
	case len(payload) > maxPayload:
		return fmt.Errorf("invoke %s: answer larger than %d bytes", fn, maxPayload)
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("invoke %s: %s: %s", fn, resp.Status, bytes.TrimSpace(payload))
	case resp.Header.Get("X-Amz-Function-Error") != "":
		return fmt.Errorf("invoke %s: function error (%s): %s", fn, resp.Header.Get("X-Amz-Function-Error"), bytes.TrimSpace(payload))
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(payload, out); err != nil {
		return fmt.Errorf("invoke %s: answer: %w", fn, err)
	}
	return nil
}
