// Package wait holds the service's one context-aware sleep: the pause
// between retries of the packages that retry a call themselves (internal/queue
// re-sending failed SendMessageBatch entries, internal/cleanup re-sending the
// deletes DynamoDB left unprocessed).
package wait

import (
	"context"
	"time"
)

// Sleep waits for d or until ctx is done, whichever comes first, and returns
// ctx's error in the second case. A d of zero or less only checks ctx.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
