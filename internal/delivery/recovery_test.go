package delivery

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/queue"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

type recordingRecoverer struct {
	mu    sync.Mutex
	calls []queue.RecoveryMessage
	redel []bool
	err   error
}

func (r *recordingRecoverer) Continue(_ context.Context, m queue.RecoveryMessage, redelivered bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, m)
	r.redel = append(r.redel, redelivered)
	return r.err
}

type noJobs struct{}

func (noJobs) Run(context.Context, queue.Job, bool) (webhook.StatsDelta, error) {
	return webhook.StatsDelta{}, errors.New("no job expected")
}

func TestHandleRoutesRecoveryMessages(t *testing.T) {
	m := queue.RecoveryMessage{WebhookID: "wh_0192f0c4a1b27c3d8e9f001122334455", RecoveryID: "rcv_0192f0c4a1b27c3d8e9f00112233cccc"}
	body, err := m.Encode()
	require.NoError(t, err)
	msg := func(id, body, receives string) events.SQSMessage {
		return events.SQSMessage{MessageId: id, Body: body, Attributes: map[string]string{"ApproximateReceiveCount": receives}}
	}
	ev := events.SQSEvent{Records: []events.SQSMessage{
		msg("first", body, "1"), msg("again", body, "3"),
		msg("bad", `{"kind":"recovery","v":1,"webhook_id":"wh_x"}`, "1"),
	}}

	for _, tc := range []struct {
		name   string
		rec    *recordingRecoverer
		failed []string
	}{
		{"carried on", &recordingRecoverer{}, []string{"bad"}},
		{"recovery error", &recordingRecoverer{err: errors.New("dynamodb down")}, []string{"first", "again", "bad"}},
		{"no recovery wired", nil, []string{"first", "again", "bad"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opt := HandlerOptions{}
			if tc.rec != nil {
				opt.Recovery = tc.rec
			}
			h := NewHandler(noJobs{}, nil, nil, opt)
			resp, err := h.Handle(context.Background(), ev)
			require.NoError(t, err)
			var failed []string
			for _, f := range resp.BatchItemFailures {
				failed = append(failed, f.ItemIdentifier)
			}
			assert.ElementsMatch(t, tc.failed, failed)
			if tc.rec != nil {
				assert.Equal(t, []queue.RecoveryMessage{m, m}, tc.rec.calls)
				assert.Equal(t, []bool{false, true}, tc.rec.redel, "redelivered from the receive count")
			}
		})
	}
}
