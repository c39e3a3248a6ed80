package queue

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/jsonx"
)

// sns wraps an inner message as an SNS notification without raw delivery.
func sns(inner string) string {
	msg, _ := json.Marshal(inner)
	return `{"Type":"Notification","MessageId":"m1","TopicArn":"arn:aws:sns:us-east-1:1:t","Message":` + string(msg) + `}`
}

// Event messages are strict JSON: what encoding/json would read by guessing
// (which of two members wins, a name in another case, U+FFFD for bad text)
// is malformed, so it reaches the DLQ instead of triggering a guess.
func TestParseEventRefusesWhatJSONWouldGuess(t *testing.T) {
	const eb = `"id":"e1","source":"s","time":"2024-01-01T00:00:00Z"`
	tests := []struct {
		name, body string
		want       error
	}{
		{"native duplicate event", `{"event":"nope","event":"custom"}`, jsonx.ErrDuplicateName},
		{"native case-folded event", `{"event":"nope","Event":"custom"}`, jsonx.ErrUnknownName},
		{"native case-folded key", `{"event":"custom","Idempotency_Key":"k"}`, jsonx.ErrUnknownName},
		{"native duplicate in data", `{"event":"custom","data":{"amount":1,"amount":1000}}`, jsonx.ErrDuplicateName},
		{"native duplicate deep in metadata", `{"event":"custom","metadata":{"a":[{"b":1,"b":2}]}}`, jsonx.ErrDuplicateName},
		{"native lone surrogate", `{"event":"custom","data":{"s":"\ud800"}}`, jsonx.ErrLoneSurrogate},
		{"native lone low surrogate", `{"event":"custom","data":{"s":"\udc00"}}`, jsonx.ErrLoneSurrogate},
		{"native invalid UTF-8", "{\"event\":\"custom\",\"data\":{\"s\":\"\xff\"}}", jsonx.ErrInvalidUTF8},
		{"eventbridge duplicate detail-type", `{` + eb + `,"detail-type":"custom","detail-type":"agent.failed","detail":{}}`, jsonx.ErrDuplicateName},
		{"eventbridge case-folded detail-type", `{` + eb + `,"detail-type":"custom","Detail-Type":"agent.failed","detail":{}}`, jsonx.ErrUnknownName},
		{"eventbridge case-folded id", `{` + eb + `,"ID":"e2","detail-type":"custom","detail":{}}`, jsonx.ErrUnknownName},
		{"eventbridge duplicate in detail", `{` + eb + `,"detail-type":"custom","detail":{"x":1,"x":2}}`, jsonx.ErrDuplicateName},
		{"sns duplicate Message", `{"Type":"Notification","MessageId":"m1","Message":"{\"event\":\"custom\"}","Message":"{\"event\":\"agent.failed\"}"}`, jsonx.ErrDuplicateName},
		{"sns case-folded Message", `{"Type":"Notification","MessageId":"m1","Message":"{\"event\":\"custom\"}","message":"{}"}`, jsonx.ErrUnknownName},
		{"sns inner duplicate", sns(`{"event":"nope","event":"custom"}`), jsonx.ErrDuplicateName},
		{"sns inner case-folded", sns(`{"event":"nope","EVENT":"custom"}`), jsonx.ErrUnknownName},
		{"sns inner lone surrogate", sns(`{"event":"custom","data":"\ud800"}`), jsonx.ErrLoneSurrogate},
		{"sns lone surrogate in envelope", `{"Type":"Notification","MessageId":"\udfff","Message":"{\"event\":\"custom\"}"}`, jsonx.ErrLoneSurrogate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseEvent(tt.body, "msg-1")
			require.Error(t, err)
			assert.True(t, errors.Is(err, ErrMalformed), "%v", err)
			assert.ErrorIs(t, err, tt.want)

			// encoding/json alone reads the text: the refusal is ours.
			assert.NoError(t, json.Unmarshal([]byte(tt.body), new(any)))
		})
	}
}

// Members a shape does not name stay ignored: envelopes carry more than the
// parser reads.
func TestParseEventIgnoresUnknownMembers(t *testing.T) {
	got, err := ParseEvent(`{"event":"custom","data":{"a":1},"producer":"x","trace":{"id":"t"}}`, "m")
	require.NoError(t, err)
	assert.Equal(t, "custom", got.Event)
	assert.Equal(t, `{"a":1}`, string(got.Data))
	got, err = ParseEvent(sns(`{"event":"custom","extra":true}`), "m")
	require.NoError(t, err)
	assert.Equal(t, "custom", got.Event)
}
