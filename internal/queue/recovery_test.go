package queue

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/webhook"
)

var testRecovery = RecoveryMessage{
	WebhookID:  "wh_0192f0c4a1b27c3d8e9f001122334455",
	RecoveryID: "rcv_0192f0c4a1b27c3d8e9f00112233cccc",
}

func TestRecoveryMessageRoundTrip(t *testing.T) {
	body, err := testRecovery.Encode()
	require.NoError(t, err)
	assert.JSONEq(t, `{"kind":"recovery","v":1,"webhook_id":"wh_0192f0c4a1b27c3d8e9f001122334455","recovery_id":"rcv_0192f0c4a1b27c3d8e9f00112233cccc"}`, body)
	assert.True(t, IsRecovery(body))
	assert.False(t, IsJob(body), "not taken for a job")
	got, err := DecodeRecovery(body)
	require.NoError(t, err)
	assert.Equal(t, testRecovery, got)

	for _, bad := range []string{
		``, `{}`, `[]`, `{"kind":"job","v":1}`,
		`{"kind":"recovery","v":2,"webhook_id":"wh_0192f0c4a1b27c3d8e9f001122334455","recovery_id":"rcv_0192f0c4a1b27c3d8e9f00112233cccc"}`,
		`{"kind":"recovery","v":1,"webhook_id":"wh_x","recovery_id":"rcv_0192f0c4a1b27c3d8e9f00112233cccc"}`,
		`{"kind":"recovery","v":1,"webhook_id":"wh_0192f0c4a1b27c3d8e9f001122334455","recovery_id":"dlv_0192f0c4a1b27c3d8e9f00112233cccc"}`,
		body + `{}`,
	} {
		_, err := DecodeRecovery(bad)
		assert.ErrorIs(t, err, ErrMalformed, "%s", bad)
	}
	_, err = RecoveryMessage{WebhookID: "nope"}.Encode()
	assert.Error(t, err)
}

// FuzzDecodeRecovery: a body decodes to a valid message that encodes back to
// one decoding the same, or is malformed; never a panic.
func FuzzDecodeRecovery(f *testing.F) {
	body, _ := testRecovery.Encode()
	f.Add(body)
	f.Add(`{"kind":"recovery"}`)
	f.Add(`{"kind":"recovery","v":1,"webhook_id":"wh_","recovery_id":"rcv_"}`)
	f.Fuzz(func(t *testing.T, body string) {
		m, err := DecodeRecovery(body)
		if err != nil {
			assert.True(t, errors.Is(err, ErrMalformed), "%v", err)
			return
		}
		assert.True(t, webhook.ValidID(webhook.RecoveryIDPrefix, m.RecoveryID))
		again, err := m.Encode()
		require.NoError(t, err)
		back, err := DecodeRecovery(again)
		require.NoError(t, err)
		assert.Equal(t, m, back)
	})
}
