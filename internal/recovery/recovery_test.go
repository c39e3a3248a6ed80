package recovery

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/devtools/fake"
	"github.com/systemprompt-io/webhooks/internal/queue"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

var (
	now    = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	hookID = "wh_" + fmt.Sprintf("%032x", 1)
	rcvID  = "rcv_" + fmt.Sprintf("%032x", 2)
)

type fixture struct {
	store *fake.Store
	queue *fake.Queue
	clock *fake.Clock
	svc   *Service
}

func newFixture(t *testing.T, st Store) *fixture {
	t.Helper()
	f := &fixture{store: fake.NewStore(&webhook.Webhook{ID: hookID, Name: "h", Status: webhook.StatusActive}),
		queue: &fake.Queue{}, clock: fake.NewClock(now)}
	if st == nil {
		st = f.store
	}
	svc, err := New(Options{Store: st, Sender: f.queue, Retention: 30 * 24 * time.Hour, PageSize: 10, PagesPerMessage: 3,
		Clock: f.clock.Now, NewID: func() string { return rcvID }})
	require.NoError(t, err)
	f.svc = svc
	return f
}

// delivery stores a delivery of hookID at t with the given status and one
// attempt, and returns its id.
func (f *fixture) delivery(t time.Time, i int, st webhook.DeliveryStatus) string {
	id := webhook.DeliveryIDFor("evt_"+strconv.Itoa(i), hookID, t)
	done := t.Add(time.Minute)
	f.store.PutDelivery(&webhook.Delivery{ID: id, WebhookID: hookID, Event: "agent.started", Status: st,
		Attempts: []webhook.Attempt{{Attempt: 1, StartedAt: t, StatusCode: 500}}, SeriesStart: 1,
		CreatedAt: t, CompletedAt: &done, EventTime: t, Data: []byte(`{"i":` + strconv.Itoa(i) + `}`)})
	return id
}

func TestStartValidates(t *testing.T) {
	ms := func(d time.Duration) time.Time { return now.Add(d) }
	for _, tc := range []struct {
		name  string
		req   Request
		hook  string
		code  string
		field string
	}{
		{"no since", Request{}, hookID, webhook.EInvalid, "since"},
		{"since after until", Request{Since: ms(-time.Hour), Until: ms(-2 * time.Hour)}, hookID, webhook.EInvalid, "since"},
		{"until in the future", Request{Since: ms(-time.Hour), Until: ms(time.Minute)}, hookID, webhook.EInvalid, "until"},
		{"status other than failed", Request{Since: ms(-time.Hour), Status: webhook.DeliverySucceeded}, hookID, webhook.EInvalid, "status"},
		{"window before retention", Request{Since: ms(-40 * 24 * time.Hour), Until: ms(-35 * 24 * time.Hour)}, hookID, webhook.EInvalid, "until"},
		{"unknown webhook", Request{Since: ms(-time.Hour)}, "wh_" + fmt.Sprintf("%032x", 9), webhook.ENotFound, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, nil)
			_, err := f.svc.Start(context.Background(), tc.hook, tc.req)
			require.Error(t, err)
			assert.Equal(t, tc.code, webhook.ErrorCode(err))
			if tc.field != "" {
				var e *webhook.Error
				require.ErrorAs(t, err, &e)
				assert.Equal(t, tc.field, e.Field)
			}
			assert.Zero(t, f.store.Recoveries(), "nothing written")
			assert.Empty(t, f.queue.Recoveries, "nothing sent")
		})
	}
}

func TestStartClampsToRetention(t *testing.T) {
	f := newFixture(t, nil)
	asked := now.Add(-90 * 24 * time.Hour)
	r, err := f.svc.Start(context.Background(), hookID, Request{Since: asked})
	require.NoError(t, err)
	assert.Equal(t, now.Add(-30*24*time.Hour), r.Since, "starts where the kept deliveries do")
	assert.Equal(t, asked, r.RequestedSince)
	assert.Equal(t, now, r.Until, "until defaults to now")
	assert.Equal(t, webhook.RecoveryRunning, r.Status)
	assert.Equal(t, []queue.RecoveryMessage{{WebhookID: hookID, RecoveryID: rcvID}}, f.queue.Recoveries)
}

func TestStartUnsentIsUndone(t *testing.T) {
	f := newFixture(t, nil)
	f.queue.SendErr = errors.New("sqs down")
	_, err := f.svc.Start(context.Background(), hookID, Request{Since: now.Add(-time.Hour)})
	assert.Equal(t, webhook.EUnavailable, webhook.ErrorCode(err))
	assert.Zero(t, f.store.Recoveries(), "the recovery is deleted again")
}

// drain plays the delivery queue: it runs every recovery message sent, as
// the delivery function would, until none is left.
func drain(t *testing.T, f *fixture, redelivered bool) {
	t.Helper()
	for i := 0; len(f.queue.Recoveries) > 0; i++ {
		require.Less(t, i, 1000, "recovery never ends")
		m := f.queue.Recoveries[0]
		f.queue.Recoveries = f.queue.Recoveries[1:]
		require.NoError(t, f.svc.Continue(context.Background(), m, redelivered))
	}
}

func sentOnce(t *testing.T, q *fake.Queue) map[string]int {
	t.Helper()
	n := map[string]int{}
	for _, j := range q.Sent {
		n[j.DeliveryID]++
	}
	for id, c := range n {
		assert.Equal(t, 1, c, "delivery %s sent %d times", id, c)
	}
	return n
}

func TestRecoveryRequeuesEachFailedDeliveryOnce(t *testing.T) {
	f := newFixture(t, nil)
	start := now.Add(-2 * time.Hour)
	var failed []string
	for i := range 75 {
		st := webhook.DeliveryFailed
		if i%5 == 0 {
			st = webhook.DeliverySucceeded
		}
		id := f.delivery(start.Add(time.Duration(i)*time.Minute), i, st)
		if st == webhook.DeliveryFailed {
			failed = append(failed, id)
		}
	}
	f.delivery(now.Add(-3*time.Hour), 100, webhook.DeliveryFailed) // before the window
	r, err := f.svc.Start(context.Background(), hookID, Request{Since: start, Until: now.Add(-time.Minute)})
	require.NoError(t, err)
	drain(t, f, false)

	got, err := f.svc.Get(context.Background(), hookID, r.ID)
	require.NoError(t, err)
	assert.Equal(t, webhook.RecoveryDone, got.Status)
	assert.EqualValues(t, 75, got.Scanned)
	assert.EqualValues(t, 60, got.Queued)
	assert.Zero(t, got.Skipped)
	require.NotNil(t, got.CompletedAt)
	n := sentOnce(t, f.queue)
	assert.Len(t, n, 60)
	for _, id := range failed {
		d := f.store.Delivery(id)
		assert.Equal(t, webhook.DeliveryPending, d.Status)
		assert.Equal(t, rcvID, d.RecoveredBy)
		assert.Equal(t, 2, d.SeriesStart, "a new series, as the manual retry starts")
		assert.Equal(t, 1, n[id])
	}
	for _, j := range f.queue.Sent {
		assert.Equal(t, 2, j.Attempt)
		assert.NotEmpty(t, j.Data, "the kept event travels in the job")
	}
	// A copy of a message after the end changes nothing.
	require.NoError(t, f.svc.Continue(context.Background(), queue.RecoveryMessage{WebhookID: hookID, RecoveryID: r.ID}, true))
	assert.Len(t, f.queue.Sent, 60)
}

// dyingStore simulates a function that dies: the failAt-th re-queue is made
// and then reported failed, as if the function stopped right after it.
type dyingStore struct {
	*fake.Store
	calls, failAt int
}

func (s *dyingStore) RequeueForRecovery(ctx context.Context, d *webhook.Delivery, rid string, now time.Time) error {
	err := s.Store.RequeueForRecovery(ctx, d, rid, now)
	if s.calls++; s.calls == s.failAt {
		return errors.New("function killed")
	}
	return err
}

func TestRecoveryResumesAfterAKill(t *testing.T) {
	for _, failAt := range []int{1, 7, 10, 11, 33} {
		t.Run(strconv.Itoa(failAt), func(t *testing.T) {
			ds := &dyingStore{failAt: failAt}
			f := newFixture(t, nil)
			ds.Store = f.store
			f.svc.opt.Store = ds
			start := now.Add(-time.Hour)
			for i := range 40 {
				f.delivery(start.Add(time.Duration(i)*time.Second), i, webhook.DeliveryFailed)
			}
			r, err := f.svc.Start(context.Background(), hookID, Request{Since: start})
			require.NoError(t, err)
			m := f.queue.Recoveries[0]
			f.queue.Recoveries = nil
			for {
				err := f.svc.Continue(context.Background(), m, false)
				if err != nil {
					break // killed: the message comes back
				}
				require.Len(t, f.queue.Recoveries, 1)
				m, f.queue.Recoveries = f.queue.Recoveries[0], nil
			}
			require.NoError(t, f.svc.Continue(context.Background(), m, true), "the message comes back")
			drain(t, f, false)

			got, err := f.svc.Get(context.Background(), hookID, r.ID)
			require.NoError(t, err)
			assert.Equal(t, webhook.RecoveryDone, got.Status)
			assert.EqualValues(t, 40, got.Scanned)
			assert.EqualValues(t, 40, got.Queued)
			assert.Len(t, sentOnce(t, f.queue), 40, "every failed delivery's job sent exactly once")
		})
	}
}

func TestRecoverySkipsDeliveriesChangedMeanwhile(t *testing.T) {
	f := newFixture(t, nil)
	start := now.Add(-time.Hour)
	id := f.delivery(start, 1, webhook.DeliveryFailed)
	f.delivery(start.Add(time.Second), 2, webhook.DeliveryFailed)
	// Retried by hand between the read and the re-queue: its attempts moved on.
	f.svc.opt.Store = &racingStore{Store: f.store, id: id}
	_, err := f.svc.Start(context.Background(), hookID, Request{Since: start})
	require.NoError(t, err)
	drain(t, f, false)
	got, err := f.svc.Get(context.Background(), hookID, rcvID)
	require.NoError(t, err)
	assert.EqualValues(t, 2, got.Scanned)
	assert.EqualValues(t, 1, got.Queued)
	assert.EqualValues(t, 1, got.Skipped)
}

type racingStore struct {
	*fake.Store
	id string
}

func (s *racingStore) RequeueForRecovery(ctx context.Context, d *webhook.Delivery, rid string, now time.Time) error {
	if d.ID == s.id {
		return webhook.Errorf(webhook.EConflict, "changed")
	}
	return s.Store.RequeueForRecovery(ctx, d, rid, now)
}

func TestContinueUnknownRecoveryIsDropped(t *testing.T) {
	f := newFixture(t, nil)
	require.NoError(t, f.svc.Continue(context.Background(), queue.RecoveryMessage{WebhookID: hookID, RecoveryID: rcvID}, false))
	assert.Empty(t, f.queue.Sent)
}

func TestContinueFailsWhenJobsCannotBeSent(t *testing.T) {
	f := newFixture(t, nil)
	start := now.Add(-time.Hour)
	f.delivery(start, 1, webhook.DeliveryFailed)
	_, err := f.svc.Start(context.Background(), hookID, Request{Since: start})
	require.NoError(t, err)
	m := f.queue.Recoveries[0]
	f.queue.Recoveries = nil
	f.queue.SendErr = errors.New("sqs down")
	require.Error(t, f.svc.Continue(context.Background(), m, false))
	f.queue.SendErr = nil
	require.NoError(t, f.svc.Continue(context.Background(), m, true))
	assert.Len(t, sentOnce(t, f.queue), 1, "the job is sent when the message comes back")
	got, _ := f.svc.Get(context.Background(), hookID, rcvID)
	assert.Equal(t, webhook.RecoveryDone, got.Status)
	assert.EqualValues(t, 1, got.Queued)
}
