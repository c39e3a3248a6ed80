package main

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/systemprompt-io/webhooks/internal/store"
)

// The local stack's bound on delivery records (LOCAL_MAX_DELIVERIES): the
// embedded emulator keeps every item in memory, ~4 KiB per delivery record,
// reads every item of the deliveries table on each Query and marshals the
// whole table to its data directory as it changes, so a local table that
// only grows makes the process bigger and slower by the hour. Locally the
// newest LOCAL_MAX_DELIVERIES records of the table are kept, whatever their
// webhook; the older ones are deleted every trimEvery.
// Retention by age (RETENTION_DAYS, the cleanup sweep) applies as well. In
// AWS nothing of this runs: DynamoDB's cost does not grow with the table.
const (
	DefaultMaxDeliveries = 5000
	trimEvery            = 10 * time.Second
)

// parseMaxDeliveries reads LOCAL_MAX_DELIVERIES: a count, 0 for no bound.
func parseMaxDeliveries(s string) (int, error) {
	if s = strings.TrimSpace(s); s == "" {
		return DefaultMaxDeliveries, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("LOCAL_MAX_DELIVERIES=%q: want a number of delivery records, 0 for no bound", s)
	}
	return n, nil
}

type sweepFunc = func(context.Context, events.EventBridgeEvent) error

// trimmer deletes the local deliveries beyond the bound.
type trimmer struct {
	store *store.Store
	max   int
	log   *slog.Logger
}

// trim deletes the deliveries beyond the newest t.max and returns how many
// it deleted.
func (t *trimmer) trim(ctx context.Context) (int, error) {
	if t.max <= 0 {
		return 0, nil
	}
	keys, err := t.store.DeliveryKeysBeyond(ctx, t.max)
	if err != nil {
		return 0, err
	}
	deleted := 0
	for from := 0; from < len(keys); from += store.MaxBatchDelete {
		n, _, err := t.store.DeleteDeliveries(ctx, keys[from:min(from+store.MaxBatchDelete, len(keys))], store.BatchRetry{Max: 3})
		deleted += n
		if err != nil {
			return deleted, err
		}
	}
	if deleted > 0 {
		t.log.Debug("local deliveries trimmed", "deleted", deleted, "kept", t.max)
	}
	return deleted, nil
}

// every runs sweep at its own interval, from start on, and the trim on each
// tick of the background schedule, whose period is then the shorter of the
// two.
func (t *trimmer) every(start time.Time, sweepEvery time.Duration, sweep sweepFunc) (sweepFunc, time.Duration) {
	if t.max <= 0 {
		return sweep, sweepEvery
	}
	last := start
	return func(ctx context.Context, ev events.EventBridgeEvent) error {
		if _, err := t.trim(ctx); err != nil {
			t.log.Error("trim local deliveries", "error", err)
		}
		if ev.Time.Sub(last) >= sweepEvery {
			last = ev.Time
			return sweep(ctx, ev)
		}
		return nil
	}, min(trimEvery, sweepEvery)
}

// boundLine tells the bound as the banner shows it.
func boundLine(n int) string {
	if n <= 0 {
		return "no bound on the delivery records (LOCAL_MAX_DELIVERIES=0)"
	}
	return fmt.Sprintf("the newest %d delivery records (LOCAL_MAX_DELIVERIES)", n)
}
