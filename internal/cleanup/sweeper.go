// Package cleanup removes the delivery records DynamoDB's TTL left behind.
//
// # Retention is TTL-first
//
// Every delivery record carries `expires_at` (unix seconds: the time its id
// names plus retention), and TTL is enabled on it, so DynamoDB deletes
// expired records itself, for free, usually within a couple of days. The
// store hides a delivery the moment its retention ends (internal/store), so
// what users see is exact whenever TTL gets to it. The sweep only removes
// what TTL has not, within its own bounded time: deliveries older than
// retention plus GraceDays (CLEANUP_GRACE_DAYS; 2 in AWS, 0 locally: an
// emulator's TTL may be missing or differ, and there is no cost to save).
//
// # What one sweep reads: no index
//
// For each webhook, from the webhooks table's by_kind index (one Query per
// 100 webhooks), the sweep queries the deliveries table's own key:
// `webhook_id = X AND id < dlv_<hex of cutoff ms>`, cutoff = now - retention
// - grace, filtered on `expires_at < now - grace`. A delivery id is a UUIDv7
// of the event's time, which starts with its 48-bit millisecond timestamp,
// and expires_at is never before that time plus retention (the store's
// rule), so the key condition reads only deliveries that can be expired and
// the filter keeps exactly those that are (a delivery of an old event
// triggered recently is read but kept: retention runs from its trigger).
// The keys it returns are deleted with BatchWriteItem, 25 per call. A run
// thus costs one Query per webhook (an empty one is 0.5 RRU) plus the
// expired items: it never grows with the deliveries that are kept.
// Deliveries of deleted webhooks are left to TTL.
//
// # Deadlines and the cursor
//
// Before each webhook and each batch the sweep checks the context's deadline
// (the Lambda's) minus Margin; when it is near, the sweep stops, records the
// last webhook it finished in one small item of the deliveries table
// (webhook_id = "#cleanup", id = "cursor", after = that webhook id) and
// reports Complete=false. The next run starts after it and, reaching the end
// of the webhooks, clears the cursor, so every webhook is swept in turn. A
// webhook swept partly is queried again, which reads only what is left.
//
// # Policy here, storage in internal/store
//
// This package decides what is deleted (the cutoffs), when a run stops (the
// deadline and Margin), where the next one resumes, and how long to wait
// before re-sending throttled deletes. Every read and write is a method of
// store.Store (WebhookIDs, ExpiredDeliveryKeys, DeleteDeliveries,
// CleanupCursor, SetCleanupCursor); Result counts the requests they make.
package cleanup

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/systemprompt-io/webhooks/internal/store"
	"github.com/systemprompt-io/webhooks/internal/wait"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// Defaults of a Sweeper made by New.
const (
	DefaultMargin     = 10 * time.Second
	DefaultMaxRetries = 8
	DefaultBaseDelay  = 50 * time.Millisecond
	DefaultMaxDelay   = 5 * time.Second
	// DefaultPageSize is how many webhook ids one Query of by_kind returns.
	DefaultPageSize = 100
	// MaxRetentionDays bounds the retention a sweep accepts, far above any
	// configuration (RETENTION_DAYS allows 3650), so the arithmetic is safe.
	MaxRetentionDays = 36500
	// MaxGraceDays bounds GraceDays (config's CLEANUP_GRACE_DAYS).
	MaxGraceDays = 30
)

// Store is the storage a sweep works on; *store.Store is one. Every call
// that reads or writes is one request, which the sweep counts, except
// DeleteDeliveries, which reports the calls it sent.
type Store interface {
	// WebhookIDs pages through all webhook ids in id order: up to limit
	// ids after `after`, and whether more may follow (a Query).
	WebhookIDs(ctx context.Context, after string, limit int) ([]string, bool, error)
	// ExpiredDeliveryKeys reads one page of a webhook's deliveries created
	// before createdBefore that expired before expiredBefore (a Query).
	ExpiredDeliveryKeys(ctx context.Context, webhookID, after string, createdBefore, expiredBefore time.Time) ([]store.DeliveryKey, string, error)
	// DeleteDeliveries deletes up to store.MaxBatchDelete deliveries and
	// reports the BatchWriteItem calls it sent.
	DeleteDeliveries(ctx context.Context, keys []store.DeliveryKey, retry store.BatchRetry) (deleted, calls int, err error)
	// CleanupCursor reads the cursor (a GetItem).
	CleanupCursor(ctx context.Context) (string, error)
	// SetCleanupCursor writes it (an UpdateItem).
	SetCleanupCursor(ctx context.Context, after string, at time.Time) error
	// Tables names the tables, for the log.
	Tables() store.Tables
}

var _ Store = (*store.Store)(nil)

// Calls counts the DynamoDB requests of one sweep, by operation.
type Calls struct {
	GetItem        int `json:"get_item"`
	Query          int `json:"query"`
	BatchWriteItem int `json:"batch_write_item"`
	UpdateItem     int `json:"update_item"`
}

// Total is the number of requests.
func (c Calls) Total() int { return c.GetItem + c.Query + c.BatchWriteItem + c.UpdateItem }

// Result reports one sweep. It is also the cleanup Lambda's response.
type Result struct {
	// Deleted counts the delete requests DynamoDB accepted.
	Deleted int `json:"deleted"`
	// Webhooks is the number of webhooks whose deliveries were queried.
	Webhooks int `json:"webhooks"`
	// Complete is false when the sweep stopped early (deadline, throttling);
	// the next run resumes where it stopped.
	Complete bool `json:"complete"`
	// Cutoff: deliveries whose id's time is before it are read, and deleted
	// if their expires_at is GraceDays past (retention + grace ago).
	Cutoff time.Time `json:"cutoff"`
	// ResumeAfter is the cursor after the sweep: the last webhook finished
	// by a run that stopped early, "" when the last run reached the end.
	ResumeAfter string `json:"resume_after,omitempty"`
	// Retries counts BatchWriteItem calls that re-sent unprocessed items.
	Retries int   `json:"retries"`
	Calls   Calls `json:"calls"`
}

// Sweeper deletes expired deliveries. Make it with New; the exported fields
// may be changed before the first Sweep (tests inject the clock and the
// sleep).
type Sweeper struct {
	// Store lists the webhooks, reads and deletes their expired deliveries
	// and keeps the cursor.
	Store Store
	// Now is the clock: it sets the cutoff and is compared with the deadline.
	Now func() time.Time
	// Sleep waits between retries of unprocessed items.
	Sleep func(ctx context.Context, d time.Duration) error
	// Jitter returns a number in [0,1) that spreads the retry delays.
	Jitter func() float64
	// GraceDays (0..MaxGraceDays) is left to TTL past the retention before
	// the sweep deletes a delivery itself.
	GraceDays int
	// PageSize is how many webhook ids are read per Query.
	PageSize int
	// Margin is kept free before the context's deadline to persist progress.
	Margin time.Duration
	// MaxRetries bounds how often one batch's unprocessed items are re-sent.
	MaxRetries int
	// BaseDelay and MaxDelay shape the exponential backoff of those retries.
	BaseDelay, MaxDelay time.Duration
	Logger              *slog.Logger
}

// New returns a sweeper of the deliveries st holds, with no grace (set
// GraceDays).
func New(st Store) *Sweeper {
	return &Sweeper{
		Store:      st,
		Now:        time.Now,
		Sleep:      wait.Sleep,
		Jitter:     rand.Float64,
		PageSize:   DefaultPageSize,
		Margin:     DefaultMargin,
		MaxRetries: DefaultMaxRetries,
		BaseDelay:  DefaultBaseDelay,
		MaxDelay:   DefaultMaxDelay,
		Logger:     slog.Default(),
	}
}

// errStop ends a sweep early without failing it: the deadline is near.
var errStop = errors.New("cleanup: deadline near")

// Sweep deletes the deliveries created more than retentionDays + GraceDays
// days ago. It returns the partial result together with any error.
func (s *Sweeper) Sweep(ctx context.Context, retentionDays int) (Result, error) {
	if retentionDays <= 0 || retentionDays > MaxRetentionDays {
		return Result{}, webhook.Invalid("retention_days",
			"retention must be from 1 to %d days, got %d", MaxRetentionDays, retentionDays)
	}
	if s.GraceDays < 0 || s.GraceDays > MaxGraceDays {
		return Result{}, webhook.Invalid("grace_days",
			"grace must be from 0 to %d days, got %d", MaxGraceDays, s.GraceDays)
	}
	now := s.Now().UTC()
	cutoff := now.Add(-time.Duration(retentionDays+s.GraceDays) * 24 * time.Hour)
	r := &run{s: s, ctx: ctx, res: Result{Cutoff: cutoff},
		expiredBy: now.Add(-time.Duration(s.GraceDays) * 24 * time.Hour)}

	start, err := r.readCursor()
	if err != nil {
		return r.res, err
	}
	r.res.ResumeAfter = start
	done, err := r.sweepWebhooks(start)
	r.res.Complete = err == nil
	if errors.Is(err, errStop) {
		err = nil
	}
	// Persist progress: the last webhook finished when stopped early, ""
	// once the end was reached. Unchanged needs no write.
	next := done
	if r.res.Complete {
		next = ""
	}
	if next != start && (next != "" || r.res.Complete) {
		if perr := r.writeCursor(next, now); perr != nil {
			err = errors.Join(err, perr)
		}
	}
	s.log(r.res, err)
	return r.res, err
}

func (s *Sweeper) log(res Result, err error) {
	attrs := []any{"deleted", res.Deleted, "webhooks", res.Webhooks, "complete", res.Complete,
		"cutoff", res.Cutoff, "grace_days", s.GraceDays, "resume_after", res.ResumeAfter,
		"retries", res.Retries, "calls", res.Calls.Total(), "table", s.Store.Tables().Deliveries}
	switch {
	case err != nil:
		s.Logger.Error("cleanup failed", append(attrs, "error", err)...)
	case !res.Complete:
		s.Logger.Warn("cleanup stopped before the deadline; the next run resumes", attrs...)
	default:
		s.Logger.Info("cleanup done", attrs...)
	}
}

// run is the state of one Sweep.
type run struct {
	s   *Sweeper
	ctx context.Context
	// expiredBy: a delivery whose expires_at is before this time (to the
	// second) is deleted, if it was created before res.Cutoff.
	expiredBy time.Time
	res       Result
}

// checkDeadline returns errStop when less than Margin is left before the
// context's deadline, and the context's error once it is done.
func (r *run) checkDeadline() error {
	if err := r.ctx.Err(); err != nil {
		return fmt.Errorf("cleanup: %w", err)
	}
	if dl, ok := r.ctx.Deadline(); ok && !r.s.Now().Before(dl.Add(-r.s.Margin)) {
		return errStop
	}
	return nil
}

// readCursor returns the webhook id to start after ("" for the first).
func (r *run) readCursor() (string, error) {
	after, err := r.s.Store.CleanupCursor(r.ctx)
	r.res.Calls.GetItem++
	return after, err
}

// writeCursor records after as the webhook to resume after. It still works
// when the run's context has ended, so progress made up to a cancellation
// is kept.
func (r *run) writeCursor(after string, now time.Time) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.ctx), r.s.Margin)
	defer cancel()
	err := r.s.Store.SetCleanupCursor(ctx, after, now)
	r.res.Calls.UpdateItem++
	if err != nil {
		return err
	}
	r.res.ResumeAfter = after
	return nil
}

// sweepWebhooks sweeps every webhook after start, a page of ids at a time,
// and returns the last one it finished.
func (r *run) sweepWebhooks(start string) (string, error) {
	done, after := start, start
	for {
		if err := r.checkDeadline(); err != nil {
			return done, err
		}
		ids, more, err := r.s.Store.WebhookIDs(r.ctx, after, max(r.s.PageSize, 1))
		r.res.Calls.Query++
		if err != nil {
			return done, err
		}
		for _, id := range ids {
			if err := r.checkDeadline(); err != nil {
				return done, err
			}
			if err := r.sweepWebhook(id); err != nil {
				return done, err
			}
			done = id
		}
		if !more || len(ids) == 0 {
			return done, nil
		}
		after = ids[len(ids)-1]
	}
}

// sweepWebhook deletes the expired deliveries of one webhook, one query
// page at a time.
func (r *run) sweepWebhook(webhookID string) error {
	r.res.Webhooks++
	after := ""
	for {
		page, next, err := r.s.Store.ExpiredDeliveryKeys(r.ctx, webhookID, after, r.res.Cutoff, r.expiredBy)
		r.res.Calls.Query++
		if err != nil {
			return err
		}
		for len(page) > 0 {
			n := min(store.MaxBatchDelete, len(page))
			if err := r.deleteBatch(page[:n]); err != nil {
				return err
			}
			page = page[n:]
		}
		if next == "" {
			return nil
		}
		if err := r.checkDeadline(); err != nil {
			return err
		}
		after = next
	}
}

// deleteBatch deletes up to 25 keys; the store re-sends unprocessed ones at
// most MaxRetries times, each after waitRetry.
func (r *run) deleteBatch(keys []store.DeliveryKey) error {
	if err := r.checkDeadline(); err != nil {
		return err
	}
	deleted, calls, err := r.s.Store.DeleteDeliveries(r.ctx, keys,
		store.BatchRetry{Max: r.s.MaxRetries, Wait: r.waitRetry})
	r.res.Deleted += deleted
	r.res.Calls.BatchWriteItem += calls
	r.res.Retries += max(calls-1, 0)
	return err
}

// waitRetry waits out the backoff before re-send n of unprocessed deletes,
// unless the deadline is near.
func (r *run) waitRetry(ctx context.Context, n int) error {
	if err := r.checkDeadline(); err != nil {
		return err
	}
	if err := r.s.Sleep(ctx, r.s.delay(n-1)); err != nil {
		return fmt.Errorf("cleanup: wait to retry unprocessed deletes: %w", err)
	}
	return nil
}

// delay is the wait before retry attempt+1: exponential, capped, with equal
// jitter (half fixed, half random) so concurrent writers spread out.
func (s *Sweeper) delay(attempt int) time.Duration {
	d := s.MaxDelay
	if attempt < 30 {
		d = min(s.MaxDelay, s.BaseDelay<<attempt)
	}
	return d/2 + time.Duration(s.Jitter()*float64(d/2))
}
