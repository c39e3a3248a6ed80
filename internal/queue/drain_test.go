package queue

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/webhook"
)

var testDrain = DrainMessage{WebhookID: "wh_0192f0c4a1b27c3d8e9f001122334455", Token: "drn_0192f0c4a1b27c3d8e9f00112233dddd"}

func TestDrainMessageRoundTrip(t *testing.T) {
	body, err := testDrain.Encode()
	require.NoError(t, err)
	assert.JSONEq(t, `{"kind":"drain","v":1,"webhook_id":"wh_0192f0c4a1b27c3d8e9f001122334455","token":"drn_0192f0c4a1b27c3d8e9f00112233dddd"}`, body)
	assert.True(t, IsDrain(body))
	assert.False(t, IsJob(body), "not taken for a job")
	assert.False(t, IsRecovery(body), "nor for a recovery")
	got, err := DecodeDrain(body)
	require.NoError(t, err)
	assert.Equal(t, testDrain, got)

	for _, bad := range []string{
		``, `{}`, `[]`, `{"kind":"job","v":1}`,
		`{"kind":"drain","v":2,"webhook_id":"wh_0192f0c4a1b27c3d8e9f001122334455","token":"t"}`,
		`{"kind":"drain","v":1,"webhook_id":"wh_x","token":"t"}`,
		`{"kind":"drain","v":1,"webhook_id":"wh_0192f0c4a1b27c3d8e9f001122334455","token":""}`,
		body + `{}`,
	} {
		_, err := DecodeDrain(bad)
		assert.ErrorIs(t, err, ErrMalformed, "%s", bad)
	}
	_, err = DrainMessage{WebhookID: testDrain.WebhookID}.Encode()
	assert.Error(t, err, "a token is required")
}

// FuzzDecodeDrain: a body decodes to a valid message that encodes back to
// one decoding the same, or is malformed; never a panic.
func FuzzDecodeDrain(f *testing.F) {
	body, _ := testDrain.Encode()
	f.Add(body)
	f.Add(`{"kind":"drain"}`)
	f.Add(`{"kind":"drain","v":1,"webhook_id":"wh_","token":"x"}`)
	f.Fuzz(func(t *testing.T, body string) {
		m, err := DecodeDrain(body)
		if err != nil {
			assert.True(t, errors.Is(err, ErrMalformed), "%v", err)
			return
		}
		assert.True(t, webhook.ValidID(webhook.WebhookIDPrefix, m.WebhookID))
		again, err := m.Encode()
		require.NoError(t, err)
		back, err := DecodeDrain(again)
		require.NoError(t, err)
		assert.Equal(t, m, back)
	})
}

// oneSQS keeps the SendMessage inputs.
type oneSQS struct{ in []*sqs.SendMessageInput }

func (s *oneSQS) SendMessage(_ context.Context, in *sqs.SendMessageInput, _ ...func(*sqs.Options)) (*sqs.SendMessageOutput, error) {
	s.in = append(s.in, in)
	return &sqs.SendMessageOutput{MessageId: aws.String("m")}, nil
}

func (s *oneSQS) SendMessageBatch(context.Context, *sqs.SendMessageBatchInput, ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	panic("not used")
}

func TestSendDrainDelay(t *testing.T) {
	tests := []struct {
		delay time.Duration
		want  int32
	}{
		{0, 0}, {-time.Second, 0}, {1500 * time.Millisecond, 2}, {time.Minute, 60}, {time.Hour, 900},
	}
	for _, tt := range tests {
		s := &oneSQS{}
		require.NoError(t, New(s, "url").SendDrain(context.Background(), testDrain, tt.delay))
		require.Len(t, s.in, 1)
		assert.Equal(t, tt.want, s.in[0].DelaySeconds, "%s: whole seconds, at most SQS's 15 min", tt.delay)
	}
}
