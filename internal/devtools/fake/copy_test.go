package fake

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/systemprompt-io/webhooks/internal/webhook"
)

func TestCopySharesNothingAndKeepsNil(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	d := &webhook.Delivery{
		ID: "dlv_x", Attempts: []webhook.Attempt{{Attempt: 1, StatusCode: 500}},
		NextAttemptAt: &at, Data: json.RawMessage(`{"a":1}`),
	}
	c := Copy(d)
	assert.Equal(t, d, c)
	c.Attempts[0].StatusCode = 200
	*c.NextAttemptAt = at.Add(time.Hour)
	c.Data[1] = 'b'
	assert.Equal(t, 500, d.Attempts[0].StatusCode)
	assert.Equal(t, at, *d.NextAttemptAt)
	assert.JSONEq(t, `{"a":1}`, string(d.Data))

	assert.Nil(t, Copy(&webhook.Delivery{}).Data, "nil stays nil")
	assert.Nil(t, Copy(&webhook.Delivery{}).CompletedAt)
	w := Copy(&webhook.Webhook{Headers: map[string]string{}, Events: []string{}})
	assert.NotNil(t, w.Headers, "empty stays empty")
	assert.NotNil(t, w.Events)
	assert.Nil(t, Copy[webhook.Webhook](nil))
}
