package delivery

import (
	"context"
	"errors"
	"strconv"

	"github.com/aws/aws-lambda-go/events"

	"github.com/systemprompt-io/webhooks/internal/queue"
)

// Recoverer carries a bulk recovery on from its cursor (implemented by
// *recovery.Service); an error means the message should come back.
type Recoverer interface {
	Continue(ctx context.Context, m queue.RecoveryMessage, redelivered bool) error
}

// continueRecoveries runs the batch's recovery messages one after another: each is a
// few pages of DynamoDB writes, and a batch seldom holds more than one.
func (h *Handler) continueRecoveries(ctx context.Context, b *batch) {
	for _, msg := range b.recoveries {
		if err := h.recoverOne(ctx, msg); err != nil {
			b.fail(ctx, msg, err)
		}
	}
}

func (h *Handler) recoverOne(ctx context.Context, msg events.SQSMessage) error {
	m, err := queue.DecodeRecovery(msg.Body)
	if err != nil {
		return err
	}
	if h.opt.Recovery == nil {
		return errors.New("delivery: a recovery message, and no recovery service is wired")
	}
	n, _ := strconv.Atoi(msg.Attributes["ApproximateReceiveCount"])
	return h.opt.Recovery.Continue(ctx, m, n > 1)
}
