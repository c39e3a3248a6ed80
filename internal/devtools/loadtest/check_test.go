package loadtest

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCheck(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	sent := []time.Time{t0, t0.Add(time.Millisecond), t0.Add(2 * time.Millisecond)}
	hooks := []string{"wh_a", "wh_b"}
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	ok := func(seq int, hook string, ms int) Arrival {
		return Arrival{Seq: seq, WebhookID: hook, DeliveryID: "dlv_" + hook + string(rune('0'+seq)), Attempt: 1, Status: 200, At: at(ms)}
	}
	failed := func(a Arrival) Arrival { a.Status = 500; return a }
	attempt := func(a Arrival, n, ms int) Arrival { a.Attempt, a.At = n, at(ms); return a }
	all := []Arrival{ok(0, "wh_a", 10), ok(0, "wh_b", 11), ok(1, "wh_a", 12), ok(1, "wh_b", 13), ok(2, "wh_a", 14), ok(2, "wh_b", 20)}

	for _, c := range []struct {
		name     string
		arrivals []Arrival
		want     Verdict // counts only
		ok       bool
		example  string
	}{
		{name: "every delivery once", arrivals: all, ok: true,
			want: Verdict{Expected: 6, Delivered: 6}},
		{name: "one lost", arrivals: append(clone(all[:3]), all[4:]...),
			want: Verdict{Expected: 6, Delivered: 5, Lost: 1}, example: "lost: event 1 to wh_b"},
		{name: "nothing arrived", arrivals: nil,
			want: Verdict{Expected: 6, Lost: 6}, example: "lost: event 0 to wh_a"},
		{name: "a duplicate after an accepted attempt", arrivals: append(clone(all), attempt(all[2], 1, 30)),
			want: Verdict{Expected: 6, Delivered: 6, Duplicates: 1}, example: "duplicate: delivery dlv_wh_a1 (event 1 to wh_a)"},
		{name: "a retry after a failed answer is no duplicate",
			arrivals: append([]Arrival{failed(all[0])}, append(clone(all[1:]), attempt(all[0], 2, 40))...),
			want:     Verdict{Expected: 6, Delivered: 6, Retries: 1}, ok: true},
		{name: "failed answers only: lost, not duplicated",
			arrivals: append(clone(all[1:]), failed(all[0]), failed(attempt(all[0], 2, 40))),
			want:     Verdict{Expected: 6, Delivered: 5, Lost: 1, Retries: 1}, example: "lost: event 0 to wh_a"},
		{name: "a second delivery id for one event and webhook",
			arrivals: append(clone(all), Arrival{Seq: 2, WebhookID: "wh_b", DeliveryID: "dlv_other", Attempt: 1, Status: 200, At: at(50)}),
			want:     Verdict{Expected: 6, Delivered: 6, SecondIDs: 1}, example: "event 2 to wh_b arrived as dlv_wh_b2 and as dlv_other"},
		{name: "arrivals for no expected delivery",
			arrivals: append(clone(all), Arrival{Seq: -1, WebhookID: "wh_a"}, Arrival{Seq: 3, WebhookID: "wh_a"}, Arrival{Seq: 0, WebhookID: "wh_c"}),
			want:     Verdict{Expected: 6, Delivered: 6, Unexpected: 3}, example: "unexpected arrival: event 3"},
	} {
		t.Run(c.name, func(t *testing.T) {
			v := Check(sent, hooks, c.arrivals)
			assert.Equal(t, c.ok, v.OK(), v.String())
			got := Verdict{Expected: v.Expected, Delivered: v.Delivered, Lost: v.Lost, Duplicates: v.Duplicates,
				SecondIDs: v.SecondIDs, Retries: v.Retries, Unexpected: v.Unexpected}
			assert.Equal(t, c.want, got)
			assert.Len(t, v.Latencies, v.Delivered)
			assert.LessOrEqual(t, len(v.Examples), maxExamples)
			if c.example != "" {
				assert.Contains(t, strings.Join(v.Examples, "\n"), c.example)
				assert.True(t, strings.HasPrefix(v.String(), "FAILED: "), v.String())
			} else {
				assert.Empty(t, v.Examples)
			}
		})
	}

	t.Run("latencies from each event's trigger to its first accepted arrival", func(t *testing.T) {
		v := Check(sent, hooks, append([]Arrival{failed(attempt(all[5], 1, 15))}, attempt(all[5], 2, 25)))
		// Event 2 was sent at 2 ms; its failed first attempt (15 ms) does not count.
		assert.Equal(t, []time.Duration{23 * time.Millisecond}, v.Latencies)
		assert.Equal(t, at(25), v.Last)
		v = Check(sent, hooks, all)
		assert.Equal(t, at(20), v.Last)
		assert.Equal(t, 18*time.Millisecond, percentiles(v.Latencies).Max)
	})
}

func clone(a []Arrival) []Arrival { return append([]Arrival(nil), a...) }

func TestPercentiles(t *testing.T) {
	assert.Equal(t, Percentiles{}, percentiles(nil))
	var ds []time.Duration
	for i := 100; i >= 1; i-- { // 1..100 ms, unsorted
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	assert.Equal(t, Percentiles{P50: 50 * time.Millisecond, P90: 90 * time.Millisecond, P99: 99 * time.Millisecond, Max: 100 * time.Millisecond}, percentiles(ds))
	assert.Equal(t, 100*time.Millisecond, ds[0], "the input is not sorted in place")
	one := percentiles([]time.Duration{time.Second})
	assert.Equal(t, Percentiles{time.Second, time.Second, time.Second, time.Second}, one)
}

func TestMedian(t *testing.T) {
	assert.Equal(t, 2.0, median([]float64{3, 1, 2}))
	assert.Equal(t, 2.5, median([]float64{4, 1, 3, 2}))
}

// The receiver reads the event from the body only when it is the run's and
// the body's webhook_id matches X-Webhook-Id; Done closes on the last
// expected delivery.
func TestReceiver(t *testing.T) {
	r, err := newReceiver("run1")
	require.NoError(t, err)
	defer r.close()
	r.expect(2, []string{"wh_a"})
	post := func(hook, delivery, body string) {
		req := httptest.NewRequest(http.MethodPost, "/hook", strings.NewReader(body))
		req.Header.Set("X-Webhook-Id", hook)
		req.Header.Set("X-Webhook-Delivery", delivery)
		req.Header.Set("X-Webhook-Attempt", "1")
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
		assert.Equal(t, http.StatusOK, rec.Code)
	}
	post("wh_a", "dlv_1", `{"webhook_id":"wh_a","event":"agent.started","data":{"run":"run1","seq":0,"pad":"x"}}`)
	post("wh_a", "dlv_x", `{"webhook_id":"wh_a","data":{"run":"run0","seq":1}}`) // another run's
	post("wh_a", "dlv_y", `{"webhook_id":"wh_b","data":{"run":"run1","seq":1}}`) // header and body differ
	post("wh_a", "dlv_z", `not json`)
	select {
	case <-r.done:
		t.Fatal("done before every expected delivery arrived")
	default:
	}
	post("wh_a", "dlv_2", `{"webhook_id":"wh_a","data":{"run":"run1","seq":1}}`)
	select {
	case <-r.done:
	default:
		t.Fatal("not done after every expected delivery arrived")
	}
	got := r.snapshot()
	require.Len(t, got, 5)
	seqs := []int{}
	for _, a := range got {
		seqs = append(seqs, a.Seq)
	}
	assert.Equal(t, []int{0, -1, -1, -1, 1}, seqs)
	assert.Equal(t, "dlv_1", got[0].DeliveryID)
	assert.Equal(t, 1, got[0].Attempt)
	v := Check(make([]time.Time, 2), []string{"wh_a"}, got)
	assert.Equal(t, 2, v.Delivered)
	assert.Equal(t, 3, v.Unexpected)
}

func TestOutcome(t *testing.T) {
	v := Check(make([]time.Time, 2), []string{"wh_a"}, []Arrival{{Seq: 0, WebhookID: "wh_a", DeliveryID: "d0", Status: 200}})
	r := Result{Verdict: v}
	assert.Equal(t, "FAILED: 1 of 2 delivered, 1 lost, 0 duplicated, 0 under a second delivery id, 0 unexpected", r.Outcome())
	r.TimedOut, r.Timeout = true, 2*time.Minute
	assert.Equal(t, "timed out after 2m0s: FAILED: 1 of 2 delivered, 1 lost, 0 duplicated, 0 under a second delivery id, 0 unexpected", r.Outcome(),
		"a slow run is told from a lossy one")
}
