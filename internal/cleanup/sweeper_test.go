package cleanup

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/store"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

const retention = 30

var (
	now    = time.Date(2026, 3, 15, 12, 0, 0, 0, time.UTC)
	cutoff = now.AddDate(0, 0, -retention) // 2026-02-13T12:00Z
)

var webhookIDs = []string{
	"wh_0193a1b2c3d47e5f8a9b0c1d2e3f4a01",
	"wh_0193a1b2c3d47e5f8a9b0c1d2e3f4a02",
	"wh_0193a1b2c3d47e5f8a9b0c1d2e3f4a03",
}

// deliveriesAt returns perWebhook deliveries of every webhook at each time.
func deliveriesAt(times []time.Time, perWebhook int) []deliveryItem {
	return deliveriesOf(webhookIDs, times, perWebhook)
}

func deliveriesOf(webhooks []string, times []time.Time, perWebhook int) []deliveryItem {
	var out []deliveryItem
	seq := 0
	for _, at := range times {
		for _, wh := range webhooks {
			for range perWebhook {
				seq++
				out = append(out, newDelivery(wh, at, seq, retention))
			}
		}
	}
	return out
}

func offsets(base time.Time, ds ...time.Duration) []time.Time {
	out := make([]time.Time, len(ds))
	for i, d := range ds {
		out[i] = base.Add(d)
	}
	return out
}

const day = 24 * time.Hour

// Expired: before the cutoff, from a second (expires_at counts whole
// seconds) to over a year.
var expiredTimes = offsets(cutoff,
	-time.Second, -time.Hour, -12*time.Hour, -12*time.Hour-time.Millisecond,
	-day, -2*day-3*time.Hour, -6*day, -45*day, -390*day)

// Fresh: from the cutoff instant on.
var freshTimes = offsets(cutoff,
	0, time.Millisecond, time.Hour, 11*time.Hour+59*time.Minute, day, 10*day, 29*day+23*time.Hour)

// putWebhookItems writes webhooks-table items (config, subscription index,
// stats) with attributes that look expired, so a sweep that strayed into
// that table would delete them.
func putWebhookItems(t *testing.T, e *env) []map[string]any {
	t.Helper()
	var items []map[string]any
	for _, wh := range webhookIDs {
		items = append(items,
			map[string]any{"pk": "wh#" + wh, "sk": "config", "kind": "webhook", "id": wh, "wh_status": "active",
				"expires_at": int64(1000), "url": "https://example.com/" + wh},
			map[string]any{"pk": "sub#agent.completed", "sk": wh, "status": "active", "expires_at": int64(1000)},
			map[string]any{"pk": "wh#" + wh, "sk": "stats", "total_deliveries": int64(42), "successful": int64(40)},
		)
	}
	for _, it := range items {
		require.NoError(t, e.db.Table(e.webhooks).Put(it).Run(context.Background()))
	}
	return webhookTable(t, e)
}

func webhookTable(t *testing.T, e *env) []map[string]any {
	t.Helper()
	var got []map[string]any
	require.NoError(t, e.db.Table(e.webhooks).Scan().Consistent(true).All(context.Background(), &got))
	sort.Slice(got, func(i, j int) bool {
		a, b := got[i]["pk"].(string)+"|"+got[i]["sk"].(string), got[j]["pk"].(string)+"|"+got[j]["sk"].(string)
		return a < b
	})
	return got
}

// batchesPerWebhook is the BatchWriteItem calls that deleting items takes:
// one per 25 deliveries of the same webhook.
func batchesPerWebhook(items []deliveryItem) int {
	per := map[string]int{}
	for _, d := range items {
		per[d.WebhookID]++
	}
	n := 0
	for _, c := range per {
		n += (c + store.MaxBatchDelete - 1) / store.MaxBatchDelete
	}
	return n
}

func TestSweepDeletesOnlyExpired(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		expired := deliveriesAt(expiredTimes, 4)
		fresh := deliveriesAt(freshTimes, 4)
		putAll(ctx, t, e.db, e.deliveries, append(append([]deliveryItem{}, expired...), fresh...))
		whBefore := putWebhookItems(t, e)
		e.reset()

		res, err := e.sweeper(now).Sweep(ctx, retention)
		require.NoError(t, err)
		assert.Equal(t, res.Calls.Total(), e.calls.Total(), "the result counts what was sent")
		assert.True(t, res.Complete)
		assert.Equal(t, len(expired), res.Deleted)
		assert.Equal(t, len(webhookIDs), res.Webhooks)
		assert.Equal(t, cutoff, res.Cutoff)
		assert.Equal(t, idsOf(fresh), deliveryIDs(t, e.db, e.deliveries))
		assert.Equal(t, whBefore, webhookTable(t, e), "the webhooks table is only read")
		// One page of webhook ids, one query per webhook (each fits a page),
		// 36 expired per webhook in 2 batches; no cursor to read or write.
		want := Calls{GetItem: 1, Query: 1 + len(webhookIDs), BatchWriteItem: batchesPerWebhook(expired)}
		assert.Equal(t, want, res.Calls)
		assert.Equal(t, "", cursorAfter(t, e))

		// Again: nothing left to delete, one query per webhook.
		e.reset()
		res, err = e.sweeper(now).Sweep(ctx, retention)
		require.NoError(t, err)
		assert.Equal(t, 0, res.Deleted)
		assert.Equal(t, Calls{GetItem: 1, Query: 1 + len(webhookIDs)}, res.Calls)
	})
}

// With grace, the sweep leaves TTL the first days past retention.
func TestSweepGrace(t *testing.T) {
	for _, grace := range []int{0, 2} {
		t.Run(fmt.Sprintf("grace=%d", grace), func(t *testing.T) {
			forEachBackend(t, func(t *testing.T, e *env) {
				ctx := context.Background()
				putWebhooks(t, e, webhookIDs...)
				withinGrace := deliveriesAt(offsets(cutoff, -time.Minute, -day, -2*day+time.Minute), 1)
				pastGrace := deliveriesAt(offsets(cutoff, -2*day, -2*day-time.Second, -9*day), 1)
				fresh := deliveriesAt(offsets(cutoff, time.Minute), 1)
				putAll(ctx, t, e.db, e.deliveries, append(append(append([]deliveryItem{}, withinGrace...), pastGrace...), fresh...))

				s := e.sweeper(now)
				s.GraceDays = grace
				res, err := s.Sweep(ctx, retention)
				require.NoError(t, err)
				assert.Equal(t, now.AddDate(0, 0, -retention-grace), res.Cutoff)
				kept := fresh
				deleted := append(append([]deliveryItem{}, withinGrace...), pastGrace...)
				if grace == 2 {
					kept = append(append([]deliveryItem{}, fresh...), withinGrace...)
					kept = append(kept, pastGrace[:len(webhookIDs)]...) // exactly 2 days past: kept
					deleted = pastGrace[len(webhookIDs):]
				}
				assert.Equal(t, len(deleted), res.Deleted)
				assert.Equal(t, idsOf(kept), deliveryIDs(t, e.db, e.deliveries))
			})
		})
	}
}

// The calls a sweep makes depend on the webhooks and the expired
// deliveries, not on how many are kept: ten times the fresh deliveries, the
// same calls.
func TestSweepCallsDoNotGrowWithFreshDeliveries(t *testing.T) {
	forEachBackend(t, func(t *testing.T, base *env) {
		ctx := context.Background()
		expired := deliveriesAt(offsets(cutoff, -3*day, -2*day, -day, -time.Minute), 8) // 32 per webhook: 2 batches
		freshOn := offsets(cutoff, 0, time.Minute, 6*time.Hour, day, 5*day, 20*day)
		run := func(t *testing.T, e *env, perTime int) Result {
			putWebhooks(t, e, webhookIDs...)
			fresh := deliveriesAt(freshOn, perTime)
			putAll(ctx, t, e.db, e.deliveries, append(append([]deliveryItem{}, expired...), fresh...))
			e.reset()
			res, err := e.sweeper(now).Sweep(ctx, retention)
			require.NoError(t, err)
			assert.Equal(t, res.Calls.Total(), e.calls.Total(), "the result counts what was sent")
			assert.Equal(t, idsOf(fresh), deliveryIDs(t, e.db, e.deliveries))
			return res
		}
		small := run(t, base, 5)                // 90 fresh
		big := run(t, newEnv(t, base.base), 50) // 900 fresh
		want := Calls{GetItem: 1, Query: 1 + len(webhookIDs), BatchWriteItem: 2 * len(webhookIDs)}
		assert.Equal(t, want, small.Calls)
		assert.Equal(t, want, big.Calls)
		assert.Equal(t, len(expired), small.Deleted)
		assert.Equal(t, len(expired), big.Deleted)
	})
}

func TestSweepRefusesRetention(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		putWebhooks(t, e, webhookIDs...)
		items := deliveriesAt(expiredTimes, 1)
		putAll(ctx, t, e.db, e.deliveries, items)
		e.reset()
		for _, days := range []int{0, -1, MaxRetentionDays + 1} {
			res, err := e.sweeper(now).Sweep(ctx, days)
			require.Error(t, err, days)
			assert.Equal(t, webhook.EInvalid, webhook.ErrorCode(err), days)
			assert.Equal(t, "retention_days", webhook.ErrorField(err))
			assert.Contains(t, webhook.ErrorMessage(err), "retention must be from 1 to")
			assert.Equal(t, Result{}, res)
		}
		for _, grace := range []int{-1, MaxGraceDays + 1} {
			s := e.sweeper(now)
			s.GraceDays = grace
			_, err := s.Sweep(ctx, retention)
			assert.Equal(t, "grace_days", webhook.ErrorField(err), grace)
		}
		assert.Equal(t, 0, e.calls.Total(), "nothing is read or written")
		assert.Equal(t, idsOf(items), deliveryIDs(t, e.db, e.deliveries))
	})
}

// stepClock advances by step at every reading, so a run "takes time" as it
// works, without timed waits.
type stepClock struct {
	mu   sync.Mutex
	t    time.Time
	step time.Duration
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(c.step)
	return c.t
}

func TestSweepStopsBeforeDeadlineAndResumes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		// The context's deadline is real time, so the clock starts now.
		start := time.Now().UTC().Truncate(time.Millisecond)
		cut0 := start.AddDate(0, 0, -retention)
		var hooks []string
		for i := range 12 {
			hooks = append(hooks, fmt.Sprintf("wh_0193a1b2c3d47e5f8a9b0c1d2e3f%04x", i))
		}
		putWebhooks(t, e, hooks...)
		expired := deliveriesOf(hooks, offsets(cut0, -time.Hour, -3*day), 15) // 30 per webhook: 2 batches
		fresh := deliveriesOf(hooks, offsets(cut0, time.Hour), 1)
		putAll(context.Background(), t, e.db, e.deliveries, append(append([]deliveryItem{}, expired...), fresh...))

		// Every clock reading takes a second; the sweep must stop 20 s in,
		// well before its 12 webhooks × (1 + 2 batches) readings are done.
		clock := &stepClock{t: start, step: time.Second}
		ctx, cancel := context.WithDeadline(context.Background(), start.Add(time.Hour))
		defer cancel()
		s := e.sweeper(start)
		s.Now = clock.Now
		s.PageSize = 5
		s.Margin = time.Hour - 20*time.Second
		first, err := s.Sweep(ctx, retention)
		require.NoError(t, err, "stopping for the deadline is no failure")
		assert.False(t, first.Complete)
		assert.Greater(t, first.Deleted, 0)
		assert.Less(t, first.Deleted, len(expired))
		require.NotEmpty(t, first.ResumeAfter, "whole webhooks were swept")
		assert.Equal(t, first.ResumeAfter, cursorAfter(t, e), "progress is persisted")
		assert.Len(t, deliveryIDs(t, e.db, e.deliveries), len(expired)+len(fresh)-first.Deleted)

		// The next run starts after the cursor, finishes, and clears it.
		later := start.Add(time.Minute)
		second, err := e.sweeper(later).Sweep(context.Background(), retention)
		require.NoError(t, err)
		assert.True(t, second.Complete)
		assert.Equal(t, len(expired), first.Deleted+second.Deleted, "nothing is deleted twice or missed")
		assert.Equal(t, idsOf(fresh), deliveryIDs(t, e.db, e.deliveries))
		done := sort.SearchStrings(hooks, first.ResumeAfter) + 1
		assert.Equal(t, len(hooks)-done, second.Webhooks, "finished webhooks are not queried again")
		assert.Equal(t, "", second.ResumeAfter)
		assert.Equal(t, "", cursorAfter(t, e))
	})
}

func TestSweepStopsAtOnceWhenDeadlineIsNear(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		putWebhooks(t, e, webhookIDs...)
		putAll(context.Background(), t, e.db, e.deliveries, deliveriesAt(expiredTimes, 1))
		e.reset()
		start := time.Now()
		ctx, cancel := context.WithDeadline(context.Background(), start.Add(time.Hour))
		defer cancel()
		s := e.sweeper(start)
		s.Margin = 2 * time.Hour
		res, err := s.Sweep(ctx, retention)
		require.NoError(t, err)
		assert.False(t, res.Complete)
		assert.Equal(t, 0, res.Deleted)
		assert.Equal(t, Calls{GetItem: 1}, res.Calls, "only the cursor is read; no cursor is written without progress")
		assert.Equal(t, "", cursorAfter(t, e))
	})
}

// flakyWriter plays a throttled DynamoDB: for its first `flaky`
// BatchWriteItem calls (all calls when flaky < 0) it processes only part of
// each request and answers the rest as unprocessed; with fail set, every
// call fails. It is client middleware, so the store's own calls meet it.
type flakyWriter struct {
	flaky int
	keep  func(n int) int // how many of n requests to process
	fail  error
	calls int
}

func (f *flakyWriter) register(s *middleware.Stack) error {
	return s.Initialize.Add(middleware.InitializeMiddlewareFunc("cleanup.flakyWriter",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			bw, ok := in.Parameters.(*dynamodb.BatchWriteItemInput)
			if !ok {
				return next.HandleInitialize(ctx, in)
			}
			f.calls++
			if f.fail != nil {
				return middleware.InitializeOutput{}, middleware.Metadata{}, f.fail
			}
			if f.flaky >= 0 && f.calls > f.flaky {
				return next.HandleInitialize(ctx, in)
			}
			sent := map[string][]types.WriteRequest{}
			left := map[string][]types.WriteRequest{}
			for table, reqs := range bw.RequestItems {
				n := f.keep(len(reqs))
				if n > 0 {
					sent[table] = reqs[:n]
				}
				left[table] = reqs[n:]
			}
			out := middleware.InitializeOutput{Result: &dynamodb.BatchWriteItemOutput{}}
			var md middleware.Metadata
			if len(sent) > 0 {
				in.Parameters = &dynamodb.BatchWriteItemInput{RequestItems: sent}
				var err error
				if out, md, err = next.HandleInitialize(ctx, in); err != nil {
					return out, md, err
				}
			}
			out.Result.(*dynamodb.BatchWriteItemOutput).UnprocessedItems = left
			return out, md, nil
		}), middleware.After)
}

func TestSweepRetriesUnprocessedItems(t *testing.T) {
	errBoom := errors.New("boom")
	half := func(n int) int { return n / 2 }
	allButOne := func(n int) int { return n - 1 }
	tests := []struct {
		name        string
		writer      flakyWriter
		wantErr     error  // errors.Is
		wantErrText string // or a message
		wantDeleted int
		wantRetries int
		wantSleeps  []time.Duration
	}{
		{
			// 30 deliveries of one webhook: 25 (12 done, 13 left; 6/7; 3/4; 4) + 5.
			name:        "retried until processed",
			writer:      flakyWriter{flaky: 3, keep: half},
			wantDeleted: 30,
			wantRetries: 3,
			wantSleeps:  []time.Duration{75 * time.Millisecond, 150 * time.Millisecond, 225 * time.Millisecond},
		},
		{
			name:        "gives up after MaxRetries",
			writer:      flakyWriter{flaky: -1, keep: allButOne},
			wantErrText: "1 still unprocessed after 4 retries",
			wantDeleted: 24,
			wantRetries: 4,
			wantSleeps:  []time.Duration{75 * time.Millisecond, 150 * time.Millisecond, 225 * time.Millisecond, 225 * time.Millisecond},
		},
		{
			name:        "write error",
			writer:      flakyWriter{fail: errBoom},
			wantErr:     errBoom,
			wantSleeps:  nil,
			wantDeleted: 0,
		},
	}
	forEachBackend(t, func(t *testing.T, e *env) {
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				e := newEnv(t, e.base)
				ctx := context.Background()
				putWebhooks(t, e, webhookIDs[0])
				items := deliveriesOf(webhookIDs[:1], offsets(cutoff, -day), 30)
				putAll(ctx, t, e.db, e.deliveries, items)
				w := tc.writer
				var sleeps []time.Duration
				s := e.sweeper(now, func(o *dynamodb.Options) { o.APIOptions = append(o.APIOptions, w.register) })
				s.MaxRetries = 4
				s.BaseDelay, s.MaxDelay = 100*time.Millisecond, 300*time.Millisecond
				s.Jitter = func() float64 { return 0.5 }
				s.Sleep = func(_ context.Context, d time.Duration) error { sleeps = append(sleeps, d); return nil }
				res, err := s.Sweep(ctx, retention)
				switch {
				case tc.wantErr != nil:
					require.ErrorIs(t, err, tc.wantErr)
				case tc.wantErrText != "":
					require.ErrorContains(t, err, tc.wantErrText)
				default:
					require.NoError(t, err)
				}
				assert.Equal(t, err == nil, res.Complete)
				assert.Equal(t, tc.wantDeleted, res.Deleted)
				assert.Equal(t, tc.wantRetries, res.Retries)
				assert.Equal(t, tc.wantSleeps, sleeps)
				assert.Equal(t, w.calls, res.Calls.BatchWriteItem)
				assert.Len(t, deliveryIDs(t, e.db, e.deliveries), len(items)-tc.wantDeleted)
				assert.Equal(t, "", cursorAfter(t, e), "no webhook finished: no cursor")
			})
		}
	})
}

func TestDelay(t *testing.T) {
	s := &Sweeper{BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second}
	for _, tc := range []struct {
		attempt int
		jitter  float64
		want    time.Duration
	}{
		{0, 0, 50 * time.Millisecond},
		{0, 0.999999, 100 * time.Millisecond},
		{1, 0, 100 * time.Millisecond},
		{3, 0.5, 600 * time.Millisecond},
		{4, 0, 500 * time.Millisecond}, // capped at MaxDelay
		{200, 0, 500 * time.Millisecond},
	} {
		s.Jitter = func() float64 { return tc.jitter }
		assert.InDelta(t, tc.want, s.delay(tc.attempt), float64(time.Microsecond), "attempt %d jitter %v", tc.attempt, tc.jitter)
	}
}

// policyStore is a Store in memory, for the sweeper's policy alone: what it
// asks for and in which order, with no DynamoDB behind it.
type policyStore struct {
	ids      []string
	expired  map[string][]store.DeliveryKey
	onDelete func(ctx context.Context, keys []store.DeliveryKey) error
	cursor   string
	// cursorCtx is the error of the context the cursor was written with.
	cursorCtx error
	writes    int
}

var _ Store = (*policyStore)(nil)

func (p *policyStore) WebhookIDs(_ context.Context, after string, limit int) ([]string, bool, error) {
	i := sort.SearchStrings(p.ids, after)
	if i < len(p.ids) && p.ids[i] == after {
		i++
	}
	end := min(i+limit, len(p.ids))
	return p.ids[i:end], end < len(p.ids), nil
}

func (p *policyStore) ExpiredDeliveryKeys(_ context.Context, webhookID, _ string, _, _ time.Time) ([]store.DeliveryKey, string, error) {
	return p.expired[webhookID], "", nil
}

func (p *policyStore) DeleteDeliveries(ctx context.Context, keys []store.DeliveryKey, _ store.BatchRetry) (int, int, error) {
	if err := p.onDelete(ctx, keys); err != nil {
		return 0, 1, err
	}
	return len(keys), 1, nil
}

func (p *policyStore) CleanupCursor(context.Context) (string, error) { return p.cursor, nil }

func (p *policyStore) SetCleanupCursor(ctx context.Context, after string, _ time.Time) error {
	p.writes++
	p.cursorCtx = ctx.Err()
	p.cursor = after
	return nil
}

func (p *policyStore) Tables() store.Tables { return store.Tables{Deliveries: "memory"} }

// When the run's context ends mid-sweep (the Lambda is stopped), the sweep
// fails, yet still records the webhooks it finished, with a context of its
// own: the next run does not sweep them again.
func TestSweepKeepsProgressWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p := &policyStore{ids: webhookIDs, expired: map[string][]store.DeliveryKey{}}
	for _, wh := range webhookIDs {
		p.expired[wh] = []store.DeliveryKey{{WebhookID: wh, ID: webhook.DeliveryIDFor("evt_a", wh, cutoff.Add(-day))}}
	}
	p.onDelete = func(ctx context.Context, keys []store.DeliveryKey) error {
		if keys[0].WebhookID == webhookIDs[1] {
			cancel()
			return fmt.Errorf("delete: %w", ctx.Err())
		}
		return nil
	}
	s := New(p)
	s.Now = func() time.Time { return now }
	s.Logger = slog.New(slog.DiscardHandler)

	res, err := s.Sweep(ctx, retention)
	require.ErrorIs(t, err, context.Canceled)
	assert.False(t, res.Complete)
	assert.Equal(t, 1, res.Deleted)
	assert.Equal(t, 2, res.Webhooks)
	assert.Equal(t, Calls{GetItem: 1, Query: 3, BatchWriteItem: 2, UpdateItem: 1}, res.Calls)
	assert.Equal(t, webhookIDs[0], res.ResumeAfter)
	assert.Equal(t, webhookIDs[0], p.cursor, "the finished webhook is recorded")
	assert.NoError(t, p.cursorCtx, "with a context that is still alive")
	assert.Equal(t, 1, p.writes)
}
