package manage

import (
	"context"
	"errors"

	"github.com/systemprompt-io/webhooks/internal/delivery"
	"github.com/systemprompt-io/webhooks/internal/queue"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// Test sends the sample custom event to a webhook now, whatever its status
// and events, waits for the answer and records it as a test delivery (not
// retried, not counted in the statistics). It reads the webhook afresh, with
// its credentials, so a test right after an update uses the update.
func (s *Service) Test(ctx context.Context, id string) (*delivery.TestResult, error) {
	if s.opt.Tester == nil {
		return nil, errors.New("manage: Options.Tester is not set")
	}
	w, err := s.load(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := delivery.OpenCredentials(ctx, s.opt.Secrets, w, s.opt.Clock()); err != nil {
		return nil, err
	}
	return s.opt.Tester.Test(ctx, w)
}

// Retry starts a new attempt series of a failed delivery under the same
// delivery id, with the event it kept, and returns the delivery as it now
// stands (pending). A delivery that is not failed is EConflict. If the job
// cannot be sent, the delivery is put back to failed and the error is
// EUnavailable: the caller may simply retry again.
func (s *Service) Retry(ctx context.Context, webhookID, deliveryID string) (*webhook.Delivery, error) {
	if s.opt.Deliveries == nil || s.opt.Jobs == nil {
		return nil, errors.New("manage: Options.Deliveries and Options.Jobs are not set")
	}
	if _, err := s.load(ctx, webhookID); err != nil {
		return nil, err
	}
	prev, err := s.opt.Deliveries.GetDelivery(ctx, webhookID, deliveryID)
	if err != nil {
		return nil, err
	}
	d, err := s.opt.Deliveries.RequeueDelivery(ctx, webhookID, deliveryID, s.opt.Clock())
	if err != nil {
		return nil, err
	}
	job := queue.RetryJob(d)
	if err := s.opt.Jobs.SendJobs(ctx, []queue.Job{job}, nil); err != nil {
		done := s.opt.Clock()
		if prev.CompletedAt != nil {
			done = *prev.CompletedAt
		}
		if uerr := s.opt.Deliveries.UndoRequeue(ctx, d, done); uerr != nil {
			s.opt.Logger.ErrorContext(ctx, "undo requeue", "delivery_id", d.ID, "error", uerr)
		}
		s.opt.Logger.ErrorContext(ctx, "retry: enqueue", "delivery_id", d.ID, "error", err)
		return nil, webhook.Errorf(webhook.EUnavailable, "the retry could not be queued; the delivery stays failed, try again")
	}
	d.Data, d.Metadata = nil, nil
	return d, nil
}
