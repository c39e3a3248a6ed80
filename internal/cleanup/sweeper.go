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
package cleanup

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/guregu/dynamo/v2"

	"github.com/systemprompt-io/webhooks/internal/store"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// Storage layout the sweep relies on (docs/internals.md, TABLE_DELIVERIES).
const (
	attrWebhookID = store.AttrWebhookID
	attrID        = store.AttrID
	attrAfter     = "after"
)

// The cursor item. Its webhook_id is no valid webhook id ("wh_..."), so no
// query of a webhook's deliveries ever returns it, and it has no expires_at,
// so TTL keeps it.
const (
	CursorWebhookID = "#cleanup"
	CursorID        = "cursor"
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

// batchSize is BatchWriteItem's limit of requests per call.
const batchSize = 25

// BatchWriter sends one BatchWriteItem call. *dynamodb.Client and guregu's
// DB.Client() satisfy it. The sweep sends this call itself, rather than
// through guregu's BatchWrite, because it must see the unprocessed items:
// guregu retries them without a bound on the attempts and without regard to
// the Lambda deadline.
type BatchWriter interface {
	BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error)
}

var _ BatchWriter = (*dynamodb.Client)(nil)

// WebhookLister pages through all webhook ids in id order, one request per
// call: up to limit ids after `after`, and whether more may follow.
type WebhookLister interface {
	WebhookIDs(ctx context.Context, after string, limit int) ([]string, bool, error)
}

var _ WebhookLister = (*store.Store)(nil)

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
// may be changed before the first Sweep (tests inject the clock, the sleep
// and the writer).
type Sweeper struct {
	table dynamo.Table

	// Webhooks lists the webhooks whose deliveries are swept.
	Webhooks WebhookLister
	// Writer sends the BatchWriteItem calls.
	Writer BatchWriter
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

// New returns a sweeper of the deliveries in tables.Deliveries of the
// webhooks in tables.Webhooks, with no grace (set GraceDays).
func New(client *dynamodb.Client, tables store.Tables) *Sweeper {
	db := dynamo.NewFromIface(client)
	return &Sweeper{
		table:      db.Table(tables.Deliveries),
		Webhooks:   store.New(client, tables),
		Writer:     client,
		Now:        time.Now,
		Sleep:      sleep,
		Jitter:     rand.Float64,
		PageSize:   DefaultPageSize,
		Margin:     DefaultMargin,
		MaxRetries: DefaultMaxRetries,
		BaseDelay:  DefaultBaseDelay,
		MaxDelay:   DefaultMaxDelay,
		Logger:     slog.Default(),
	}
}

// TableName is the name of the deliveries table the sweeper works on.
func (s *Sweeper) TableName() string { return s.table.Name() }

// deliveryKey is the part of a delivery the sweep reads.
type deliveryKey struct {
	WebhookID string `dynamo:"webhook_id"`
	ID        string `dynamo:"id"`
}

type cursorItem struct {
	WebhookID string    `dynamo:"webhook_id"`
	ID        string    `dynamo:"id"`
	After     string    `dynamo:"after"`
	UpdatedAt time.Time `dynamo:"updated_at"`
}

// errStop ends a sweep early without failing it: the deadline is near.
var errStop = errors.New("deadline near")

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
	r := &run{s: s, ctx: ctx, bound: store.IDBound(cutoff), res: Result{Cutoff: cutoff},
		expiredBy: now.Add(-time.Duration(s.GraceDays) * 24 * time.Hour).Unix()}

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

// IDBound returns the smallest delivery id created at or after t: every id
// below it was created before t (store.IDBound).
func IDBound(t time.Time) string { return store.IDBound(t) }

func (s *Sweeper) log(res Result, err error) {
	attrs := []any{"deleted", res.Deleted, "webhooks", res.Webhooks, "complete", res.Complete,
		"cutoff", res.Cutoff, "grace_days", s.GraceDays, "resume_after", res.ResumeAfter,
		"retries", res.Retries, "calls", res.Calls.Total(), "table", s.table.Name()}
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
	s     *Sweeper
	ctx   context.Context
	bound string
	// expiredBy: a delivery whose expires_at is before this unix time is
	// deleted.
	expiredBy int64
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
	var c cursorItem
	err := r.s.table.Get(attrWebhookID, CursorWebhookID).
		Range(attrID, dynamo.Equal, CursorID).
		Consistent(true).
		One(r.ctx, &c)
	r.res.Calls.GetItem++
	switch {
	case errors.Is(err, dynamo.ErrNotFound):
		return "", nil
	case err != nil:
		return "", fmt.Errorf("read cleanup cursor: %w", err)
	}
	if c.After != "" && !webhook.ValidID(webhook.WebhookIDPrefix, c.After) {
		return "", fmt.Errorf("cleanup cursor (%s=%q, %s=%q) has %s %q, not a webhook id: fix or delete it",
			attrWebhookID, CursorWebhookID, attrID, CursorID, attrAfter, c.After)
	}
	return c.After, nil
}

// writeCursor records after as the webhook to resume after. It still works
// when the run's context has ended, so progress made up to a cancellation
// is kept.
func (r *run) writeCursor(after string, now time.Time) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.ctx), r.s.Margin)
	defer cancel()
	err := r.s.table.Update(attrWebhookID, CursorWebhookID).
		Range(attrID, CursorID).
		Set(attrAfter, after).
		Set("updated_at", now).
		Remove("swept_through"). // the by_day sweep's cursor, if any
		Run(ctx)
	r.res.Calls.UpdateItem++
	if err != nil {
		return fmt.Errorf("write cleanup cursor %q: %w", after, err)
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
		ids, more, err := r.s.Webhooks.WebhookIDs(r.ctx, after, max(r.s.PageSize, 1))
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
	var lek dynamo.PagingKey
	for {
		q := r.s.table.Get(attrWebhookID, webhookID).
			Range(attrID, dynamo.Less, r.bound).
			Filter(store.ExpiredFilter, store.TTLAttribute, r.expiredBy).
			Project(attrWebhookID, attrID).
			RequestLimit(1) // one request per loop, so calls are counted and deadlines checked
		if lek != nil {
			q = q.StartFrom(lek)
		}
		var page []deliveryKey
		next, err := q.AllWithLastEvaluatedKey(r.ctx, &page)
		r.res.Calls.Query++
		if err != nil {
			return fmt.Errorf("query expired deliveries of %s: %w", webhookID, err)
		}
		for len(page) > 0 {
			n := min(batchSize, len(page))
			if err := r.deleteBatch(page[:n]); err != nil {
				return err
			}
			page = page[n:]
		}
		if next == nil {
			return nil
		}
		if err := r.checkDeadline(); err != nil {
			return err
		}
		lek = next
	}
}

// deleteBatch deletes up to 25 keys, re-sending unprocessed ones with
// exponential backoff at most MaxRetries times.
func (r *run) deleteBatch(keys []deliveryKey) error {
	if err := r.checkDeadline(); err != nil {
		return err
	}
	table := r.s.table.Name()
	reqs := make([]types.WriteRequest, len(keys))
	for i, k := range keys {
		reqs[i] = types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: map[string]types.AttributeValue{
			attrWebhookID: &types.AttributeValueMemberS{Value: k.WebhookID},
			attrID:        &types.AttributeValueMemberS{Value: k.ID},
		}}}
	}
	for attempt := 0; ; attempt++ {
		out, err := r.s.Writer.BatchWriteItem(r.ctx, &dynamodb.BatchWriteItemInput{
			RequestItems: map[string][]types.WriteRequest{table: reqs},
		})
		r.res.Calls.BatchWriteItem++
		if attempt > 0 {
			r.res.Retries++
		}
		if err != nil {
			return fmt.Errorf("delete %d expired deliveries: %w", len(reqs), err)
		}
		left := out.UnprocessedItems[table]
		r.res.Deleted += len(reqs) - len(left)
		if len(left) == 0 {
			return nil
		}
		if attempt == r.s.MaxRetries {
			return fmt.Errorf("delete expired deliveries: %d still unprocessed after %d retries (throttled?)",
				len(left), r.s.MaxRetries)
		}
		reqs = left
		if err := r.checkDeadline(); err != nil {
			return err
		}
		if err := r.s.Sleep(r.ctx, r.s.delay(attempt)); err != nil {
			return fmt.Errorf("wait to retry unprocessed deletes: %w", err)
		}
	}
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

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
