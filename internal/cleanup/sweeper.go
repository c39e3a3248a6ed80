// Package cleanup removes delivery records older than the retention period.
//
// # What one sweep reads
//
// Deliveries carry `created_day` (YYYY-MM-DD, UTC) and are indexed by it in
// the KEYS_ONLY GSI `by_day`, range key `id` = `dlv_<uuidv7 hex>`. The
// sweep queries that index only for days that can hold expired deliveries:
// every day before the cutoff day (cutoff = now - retention) whole, and the
// cutoff day itself with `id < dlv_<hex of cutoff ms>`. A UUIDv7 starts with
// its 48-bit millisecond timestamp, so that range condition selects exactly
// the deliveries created before the cutoff, and DynamoDB reads nothing else.
// The keys it returns are deleted with BatchWriteItem, 25 per call.
//
// # Where it starts: a cursor, not a scan back
//
// A day that was swept never gets new deliveries (they are written with the
// day they are created, and the swept days are all past retention), so the
// sweep remembers how far it got in one small item of the deliveries table:
// webhook_id = "#cleanup", id = "cursor", swept_through = the last day swept
// whole. The next run starts the day after. A run thus costs one GetItem, one
// Query per day since the previous run (one, for a daily schedule), one
// BatchWriteItem per 25 expired deliveries and one UpdateItem: it grows with
// the expired items and with the time since the last run, never with the
// deliveries that are kept. Scanning back over empty days on every run would
// instead cost LookbackDays queries per run for nothing.
//
// Only the first run on a table (no cursor yet) looks back LookbackDays
// (default 400) before the cutoff day: at most that many queries, each on an
// empty day a single cheap request, paid once per table. Deliveries older than
// that (possible only if retention was once longer than LookbackDays) are left
// to DynamoDB's TTL: every delivery carries `expires_at` (unix seconds,
// created + retention), so DynamoDB removes for free, lazily, whatever the
// sweep does not; the sweep makes retention exact and also works on local
// emulators, which never expire items.
//
// # Deadlines
//
// Before each day and each batch the sweep checks the context's deadline (the
// Lambda's) minus Margin; when it is near, the sweep stops, records the last
// whole day in the cursor and reports Complete=false. A half-swept day is
// queried again by the next run, which reads only what is left of it, since
// the deleted keys are gone.
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
	attrWebhookID  = store.AttrWebhookID
	attrID         = store.AttrID
	attrCreatedDay = store.AttrCreatedDay
	indexByDay     = store.IndexByDay
	dayLayout      = time.DateOnly
)

// The cursor item. Its webhook_id is no valid webhook id ("wh_..."), so no
// listing of a webhook's deliveries ever returns it, and it has no
// created_day, so it is not in by_day and the sweep never deletes it.
const (
	CursorWebhookID = "#cleanup"
	CursorID        = "cursor"
)

// Defaults of a Sweeper made by New.
const (
	DefaultLookbackDays = 400
	DefaultMargin       = 10 * time.Second
	DefaultMaxRetries   = 8
	DefaultBaseDelay    = 50 * time.Millisecond
	DefaultMaxDelay     = 5 * time.Second
	// MaxRetentionDays bounds the retention a sweep accepts, far above any
	// configuration (RETENTION_DAYS allows 3650), so the arithmetic is safe.
	MaxRetentionDays = 36500
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
	// Deleted counts the delete requests DynamoDB accepted. A key the
	// eventually consistent index still showed after an earlier delete is
	// deleted (and counted) again, harmlessly.
	Deleted int `json:"deleted"`
	// Days is the number of days queried.
	Days int `json:"days"`
	// Complete is false when the sweep stopped early (deadline, throttling);
	// the next run resumes where it stopped.
	Complete bool `json:"complete"`
	// Cutoff: deliveries created before it are expired.
	Cutoff time.Time `json:"cutoff"`
	// SweptThrough is the cursor after the sweep: the last day swept whole.
	SweptThrough string `json:"swept_through,omitempty"`
	// Retries counts BatchWriteItem calls that re-sent unprocessed items.
	Retries int   `json:"retries"`
	Calls   Calls `json:"calls"`
}

// Sweeper deletes expired deliveries. Make it with New; the exported fields
// may be changed before the first Sweep (tests inject the clock, the sleep
// and the writer).
type Sweeper struct {
	table dynamo.Table

	// Writer sends the BatchWriteItem calls.
	Writer BatchWriter
	// Now is the clock: it sets the cutoff and is compared with the deadline.
	Now func() time.Time
	// Sleep waits between retries of unprocessed items.
	Sleep func(ctx context.Context, d time.Duration) error
	// Jitter returns a number in [0,1) that spreads the retry delays.
	Jitter func() float64
	// LookbackDays is how far before the cutoff day a first run (no cursor)
	// looks for deliveries.
	LookbackDays int
	// Margin is kept free before the context's deadline to persist progress.
	Margin time.Duration
	// MaxRetries bounds how often one batch's unprocessed items are re-sent.
	MaxRetries int
	// BaseDelay and MaxDelay shape the exponential backoff of those retries.
	BaseDelay, MaxDelay time.Duration
	Logger              *slog.Logger
}

// New returns a sweeper of the deliveries table named table.
func New(db *dynamo.DB, table string) *Sweeper {
	return &Sweeper{
		table:        db.Table(table),
		Writer:       db.Client(),
		Now:          time.Now,
		Sleep:        sleep,
		Jitter:       rand.Float64,
		LookbackDays: DefaultLookbackDays,
		Margin:       DefaultMargin,
		MaxRetries:   DefaultMaxRetries,
		BaseDelay:    DefaultBaseDelay,
		MaxDelay:     DefaultMaxDelay,
		Logger:       slog.Default(),
	}
}

// TableName is the name of the deliveries table the sweeper works on.
func (s *Sweeper) TableName() string { return s.table.Name() }

// deliveryKey is what by_day projects besides its own key: the table's key.
type deliveryKey struct {
	WebhookID string `dynamo:"webhook_id"`
	ID        string `dynamo:"id"`
}

type cursorItem struct {
	WebhookID    string    `dynamo:"webhook_id"`
	ID           string    `dynamo:"id"`
	SweptThrough string    `dynamo:"swept_through"`
	UpdatedAt    time.Time `dynamo:"updated_at"`
}

// errStop ends a sweep early without failing it: the deadline is near.
var errStop = errors.New("deadline near")

// Sweep deletes the deliveries created more than retentionDays days ago. It
// returns the partial result together with any error.
func (s *Sweeper) Sweep(ctx context.Context, retentionDays int) (Result, error) {
	if retentionDays <= 0 || retentionDays > MaxRetentionDays {
		return Result{}, webhook.Invalid("retention_days",
			"retention must be from 1 to %d days, got %d", MaxRetentionDays, retentionDays)
	}
	now := s.Now().UTC()
	cutoff := now.Add(-time.Duration(retentionDays) * 24 * time.Hour)
	cutoffDay := midnight(cutoff)
	r := &run{s: s, ctx: ctx, res: Result{Cutoff: cutoff}}

	start := cutoffDay.AddDate(0, 0, -s.LookbackDays)
	prev, found, err := r.readCursor()
	if err != nil {
		return r.res, err
	}
	if found {
		start = prev.AddDate(0, 0, 1)
		r.res.SweptThrough = prev.Format(dayLayout)
	}

	swept := time.Time{} // last day swept whole in this run
	for d := start; !d.After(cutoffDay); d = d.AddDate(0, 0, 1) {
		if err = r.checkDeadline(); err != nil {
			break
		}
		bound := "" // whole day
		if d.Equal(cutoffDay) {
			bound = IDBound(cutoff)
		}
		if err = r.sweepDay(d, bound); err != nil {
			break
		}
		if d.Before(cutoffDay) {
			swept = d
		}
	}
	r.res.Complete = err == nil
	if errors.Is(err, errStop) {
		err = nil
	}
	if !swept.IsZero() {
		if perr := r.writeCursor(swept, now); perr != nil {
			err = errors.Join(err, perr)
		}
	}
	s.log(r.res, err)
	return r.res, err
}

// IDBound returns the smallest delivery id created at or after t: every id
// below it was created before t.
func IDBound(t time.Time) string {
	return fmt.Sprintf("%s%012x", webhook.DeliveryIDPrefix, uint64(t.UnixMilli())&(1<<48-1))
}

func (s *Sweeper) log(res Result, err error) {
	attrs := []any{"deleted", res.Deleted, "days", res.Days, "complete", res.Complete,
		"cutoff", res.Cutoff, "swept_through", res.SweptThrough, "retries", res.Retries,
		"calls", res.Calls.Total(), "table", s.table.Name()}
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
	res Result
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

func (r *run) readCursor() (time.Time, bool, error) {
	var c cursorItem
	err := r.s.table.Get(attrWebhookID, CursorWebhookID).
		Range(attrID, dynamo.Equal, CursorID).
		Consistent(true).
		One(r.ctx, &c)
	r.res.Calls.GetItem++
	switch {
	case errors.Is(err, dynamo.ErrNotFound):
		return time.Time{}, false, nil
	case err != nil:
		return time.Time{}, false, fmt.Errorf("read cleanup cursor: %w", err)
	}
	d, err := time.Parse(dayLayout, c.SweptThrough)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("cleanup cursor (%s=%q, %s=%q) has swept_through %q, not a date: fix or delete it",
			attrWebhookID, CursorWebhookID, attrID, CursorID, c.SweptThrough)
	}
	return d, true, nil
}

// writeCursor records day as swept whole, unless a concurrent run already
// recorded a later day. It still works when the run's context has ended, so
// progress made up to a cancellation is kept.
func (r *run) writeCursor(day, now time.Time) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.ctx), r.s.Margin)
	defer cancel()
	v := day.Format(dayLayout)
	err := r.s.table.Update(attrWebhookID, CursorWebhookID).
		Range(attrID, CursorID).
		Set("swept_through", v).
		Set("updated_at", now).
		If("attribute_not_exists($) OR $ < ?", "swept_through", "swept_through", v).
		Run(ctx)
	r.res.Calls.UpdateItem++
	switch {
	case dynamo.IsCondCheckFailed(err):
		return nil // another run is further along
	case err != nil:
		return fmt.Errorf("write cleanup cursor %s: %w", v, err)
	}
	r.res.SweptThrough = v
	return nil
}

// sweepDay deletes the deliveries of day whose id is below bound (all of
// them when bound is empty), one query page at a time.
func (r *run) sweepDay(day time.Time, bound string) error {
	r.res.Days++
	var lek dynamo.PagingKey
	for {
		q := r.s.table.Get(attrCreatedDay, day.Format(dayLayout)).
			Index(indexByDay).
			RequestLimit(1) // one request per loop, so calls are counted and deadlines checked
		if bound != "" {
			q = q.Range(attrID, dynamo.Less, bound)
		}
		if lek != nil {
			q = q.StartFrom(lek)
		}
		var page []deliveryKey
		next, err := q.AllWithLastEvaluatedKey(r.ctx, &page)
		r.res.Calls.Query++
		if err != nil {
			return fmt.Errorf("query %s %s: %w", indexByDay, day.Format(dayLayout), err)
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

func midnight(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
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
