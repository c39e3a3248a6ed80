package localaws

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestInvoker(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		fnError string
		answer  string
		want    events.SQSEventResponse
		err     string
	}{
		{name: "answer", status: 200, answer: `{"batchItemFailures":[{"itemIdentifier":"m2"}]}`,
			want: events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{{ItemIdentifier: "m2"}}}},
		{name: "no failures", status: 200, answer: `{}`},
		{name: "function error", status: 200, fnError: "Unhandled", answer: `{"errorMessage":"boom"}`, err: "function error (Unhandled): {\"errorMessage\":\"boom\"}"},
		{name: "no such function", status: 404, answer: `{"Type":"User","Message":"Function not found"}`, err: "404 Not Found"},
		{name: "not json", status: 200, answer: `<html>`, err: "answer"},
		{name: "too large", status: 200, answer: `"` + strings.Repeat("x", maxPayload) + `"`, err: "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var gotPath string
			var gotEvent events.SQSEvent
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				gotPath = r.Method + " " + r.URL.Path
				b, _ := io.ReadAll(r.Body)
				_ = json.Unmarshal(b, &gotEvent)
				if tt.fnError != "" {
					w.Header().Set("X-Amz-Function-Error", tt.fnError)
				}
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, tt.answer)
			}))
			defer srv.Close()

			ev := events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m1", Body: "a"}, {MessageId: "m2", Body: "b"}}}
			resp, err := Invoker{Endpoint: srv.URL + "/"}.SQS("DeliveryFunction")(context.Background(), ev)
			assert.Equal(t, "POST /2015-03-31/functions/DeliveryFunction/invocations", gotPath)
			assert.Equal(t, ev.Records[1].Body, gotEvent.Records[1].Body, "the batch is the event")
			if tt.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.err)
				assert.Contains(t, err.Error(), "invoke DeliveryFunction")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, resp)
		})
	}
}

func TestInvokerSchedule(t *testing.T) {
	var got events.EventBridgeEvent
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.NoError(t, json.NewDecoder(r.Body).Decode(&got))
		_, _ = io.WriteString(w, `{"deleted":0}`)
	}))
	defer srv.Close()
	err := Invoker{Endpoint: srv.URL}.Schedule("CleanupFunction")(context.Background(), events.EventBridgeEvent{DetailType: "Scheduled Event"})
	require.NoError(t, err)
	assert.Equal(t, "Scheduled Event", got.DetailType)
}
