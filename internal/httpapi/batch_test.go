package httpapi

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/devtools/fake"
	"github.com/systemprompt-io/webhooks/internal/trigger"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// subsAndKeys is the subscription index and idempotency table the real
// trigger service runs on here.
type subsAndKeys struct {
	mu      sync.Mutex
	subs    map[string][]string
	keys    map[string]webhook.IdempotencyRecord
	queries int
}

func (s *subsAndKeys) ActiveSubscriptions(_ context.Context, event string) ([]webhook.Subscription, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queries++
	var out []webhook.Subscription
	for _, id := range s.subs[event] {
		out = append(out, webhook.Subscription{WebhookID: id})
	}
	return out, nil
}

func (s *subsAndKeys) ClaimIdempotencyKey(_ context.Context, rec webhook.IdempotencyRecord) (webhook.IdempotencyRecord, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if prev, ok := s.keys[rec.Key]; ok {
		return prev, false, nil
	}
	s.keys[rec.Key] = rec
	return rec, true, nil
}

func (s *subsAndKeys) CompleteIdempotencyKey(_ context.Context, key string, n int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := s.keys[key]
	rec.Done, rec.Deliveries = true, n
	s.keys[key] = rec
	return nil
}

type batchEnv struct {
	*env
	q    *fake.Queue
	st   *subsAndKeys
	tlog *bytes.Buffer // the trigger service's log
}

func newBatchEnv(t *testing.T) batchEnv {
	st := &subsAndKeys{subs: map[string][]string{"agent.started": {"wh_1", "wh_2"}, "task.failed": {"wh_1"}},
		keys: map[string]webhook.IdempotencyRecord{}}
	q := &fake.Queue{}
	tlog := &bytes.Buffer{}
	svc := trigger.New(st, q, st, nil, slog.New(slog.NewJSONHandler(tlog, nil)))
	e := newEnv(t, func(o *envOptions) { o.api.Batcher = svc })
	return batchEnv{env: e, q: q, st: st, tlog: tlog}
}

// batchOut is the answer to POST /events/batch.
type batchOut struct {
	Items []struct {
		EventID    string    `json:"event_id"`
		Deliveries *int      `json:"deliveries"`
		Error      *errorOut `json:"error"`
	} `json:"items"`
}

type errorOut struct {
	Code, Message, Field string
}

func (e batchEnv) batch(body string) batchOut {
	e.t.Helper()
	rec := e.do("POST", "/events/batch", body)
	require.Equal(e.t, 202, rec.Code, rec.Body.String())
	return decode[batchOut](e.t, rec)
}

func events(n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = fmt.Sprintf(`{"event":"task.failed","data":{"n":%d}}`, i)
	}
	return `{"events":[` + strings.Join(parts, ",") + `]}`
}

func TestTriggerBatch(t *testing.T) {
	e := newBatchEnv(t)
	out := e.batch(`{"events":[
		{"event":"agent.started","data":{"n":0},"metadata":{"m":1}},
		{"event":"agent.exploded"},
		{"event":"task.failed","idempotency_key":"k2"},
		{"event":"agent.started","data":[1]},
		"not an event",
		{"event":"agent.started","colour":"red"},
		{"event":"agent.started","data":{"a":1,"a":2}},
		{"event":"agent.started","idempotency_key":""},
		{"event":"task.failed","idempotency_key":"k2"},
		{"event":"task.failed","idempotency_key":"k2","data":{"other":true}},
		{"event":"agent.started","idempotency_key":"` + strings.Repeat("k", trigger.MaxKeyLen+1) + `"},
		{"event":"agent.started","data":{"big":"` + strings.Repeat("x", 201<<10) + `"}}
	]}`)
	require.Len(t, out.Items, 12)
	refused := map[int][2]string{
		1:  {webhook.EInvalid, "events[1].event"},
		3:  {webhook.EInvalid, "events[3].data"},
		4:  {webhook.EInvalid, "events[4]"},
		5:  {webhook.EInvalid, "events[5].colour"},
		6:  {webhook.EInvalid, "events[6].data.a"},
		7:  {webhook.EInvalid, "events[7].idempotency_key"},
		9:  {webhook.EConflict, "events[9].idempotency_key"},
		10: {webhook.EInvalid, "events[10].idempotency_key"},
		11: {webhook.ETooLarge, "events[11]"},
	}
	for i, it := range out.Items {
		if want, ok := refused[i]; ok {
			require.NotNil(t, it.Error, i)
			assert.Equal(t, want[0], it.Error.Code, i)
			assert.Equal(t, want[1], it.Error.Field, i)
			assert.NotEmpty(t, it.Error.Message, i)
			assert.Empty(t, it.EventID, i)
			continue
		}
		require.Nil(t, it.Error, "%d: %+v", i, it.Error)
		assert.True(t, webhook.ValidID(webhook.EventIDPrefix, it.EventID), i)
		require.NotNil(t, it.Deliveries, i)
	}
	assert.Equal(t, 2, *out.Items[0].Deliveries)
	assert.Equal(t, 1, *out.Items[2].Deliveries)
	assert.Equal(t, out.Items[2].EventID, out.Items[8].EventID, "a key twice in one batch is one event")

	// Only the accepted events were queued, once each, in one SendJobs.
	require.Len(t, e.q.Sent, 3)
	got := map[string]int{}
	for _, j := range e.q.Sent {
		got[j.EventID]++
	}
	assert.Equal(t, map[string]int{out.Items[0].EventID: 2, out.Items[2].EventID: 1}, got)
	assert.Equal(t, 2, e.st.queries, "one query per distinct event name")
	assert.Contains(t, e.logs.String(), `"route":"POST /events/batch","path":"/events/batch","status":202`)
	assert.Contains(t, e.logs.String(), `"events":12,"accepted":3,"deliveries":3`, "the request line sums the batch up, each event once")
}

func TestTriggerBatchWholeRequestRefused(t *testing.T) {
	e := newBatchEnv(t)
	over := `{"events":[{"event":"task.failed","data":{"x":"` + strings.Repeat("x", webhook.MaxBatchBodyBytes) + `"}}]}`
	exactly := events(10)
	exactly = exactly[:len(exactly)-1] + strings.Repeat(" ", webhook.MaxBatchBodyBytes-len(exactly)) + "}"
	require.Len(t, exactly, webhook.MaxBatchBodyBytes)
	for _, tc := range []struct {
		name, body   string
		status       int
		code, field  string
		wantInAnswer string
	}{
		{"101 events", events(trigger.MaxBatch + 1), 400, webhook.EInvalid, "events", "at most 100"},
		{"1 MiB + 1", exactly[:len(exactly)-1] + "  }", 413, webhook.ETooLarge, "", "1048576"},
		{"far over 1 MiB", over, 413, webhook.ETooLarge, "", ""},
		{"an empty array", `{"events":[]}`, 400, webhook.EInvalid, "events", "events is empty"},
		{"no events", `{}`, 400, webhook.EInvalid, "events", "required"},
		{"events null", `{"events":null}`, 400, webhook.EInvalid, "events", "array"},
		{"events an object", `{"events":{"event":"task.failed"}}`, 400, webhook.EInvalid, "events", "array"},
		{"an array body", `[{"event":"task.failed"}]`, 400, webhook.EInvalid, "", "JSON object"},
		{"a string body", `"events"`, 400, webhook.EInvalid, "", "JSON object"},
		{"empty body", ``, 400, webhook.EInvalid, "", "empty"},
		{"unknown member", `{"events":[{"event":"task.failed"}],"more":1}`, 400, webhook.EInvalid, "more", "unknown"},
		{"events twice", `{"events":[{"event":"task.failed"}],"events":[]}`, 400, webhook.EInvalid, "events", "more than once"},
		{"truncated", `{"events":[{"event":"task.failed"}`, 400, webhook.EInvalid, "", "not valid JSON"},
		{"malformed event", `{"events":[{"event":"task.failed"},{"event":}]}`, 400, webhook.EInvalid, "", "not valid JSON"},
		{"data after", `{"events":[{"event":"task.failed"}]} {}`, 400, webhook.EInvalid, "", "after"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := e.do("POST", "/events/batch", tc.body)
			er := assertError(t, rec, tc.status, tc.code, tc.field)
			assert.Contains(t, er.Error.Message, tc.wantInAnswer)
			assert.Empty(t, e.q.Sent, "nothing queued")
			assert.Zero(t, e.st.queries)
		})
	}
	// Exactly 1 MiB and 100 events are a batch.
	out := e.batch(exactly)
	assert.Len(t, out.Items, 10)
	out = e.batch(events(trigger.MaxBatch))
	assert.Len(t, out.Items, trigger.MaxBatch)
	assert.Len(t, e.q.Sent, 110)
}

func TestTriggerBatchAllRefused(t *testing.T) {
	e := newBatchEnv(t)
	out := e.batch(`{"events":[{"event":"nope"},{"event":"task.failed","data":1}]}`)
	require.Len(t, out.Items, 2)
	for _, it := range out.Items {
		require.NotNil(t, it.Error)
	}
	assert.Empty(t, e.q.Sent)
	assert.Zero(t, e.st.queries)
}

func TestTriggerBatchInternalErrorIsGeneric(t *testing.T) {
	e := newBatchEnv(t)
	e.q.SendErr = fmt.Errorf("sqs: secret detail")
	out := e.batch(events(2))
	for _, it := range out.Items {
		require.NotNil(t, it.Error)
		assert.Equal(t, webhook.EUnavailable, it.Error.Code)
		assert.NotContains(t, it.Error.Message, "secret detail")
		assert.Contains(t, it.Error.Message, `"idempotency_key": "evt_`)
	}
	assert.Contains(t, e.tlog.String(), "secret detail", "the cause is logged")
}

// FuzzTriggerBatch sends bodies to POST /events/batch: a body is refused
// whole (an error JSON, nothing queued) or answered 202 with one item per
// event, each an event id or an error naming events[i], and exactly the
// accepted events' jobs queued.
func FuzzTriggerBatch(f *testing.F) {
	f.Add(events(3))
	f.Add(`{"events":[{"event":"agent.started","idempotency_key":"a"},{"event":"agent.started","idempotency_key":"a"}]}`)
	f.Add(`{"events":[{"event":"agent.started","data":{"a":1,"a":2}},"x",1,null,[],{"event":"nope"}]}`)
	f.Add(`{"events":[{"event":"task.failed","data":{"s":"\ud800"}}]}`)
	f.Add(`{"events":[]}`)
	f.Add(`{"events":null,"x":1}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, body string) {
		e := newBatchEnv(t)
		rec := e.do("POST", "/events/batch", body)
		if rec.Code != 202 {
			checkRefused(t, rec.Code, rec.Body.String())
			assert.Empty(t, e.q.Sent, "a refused batch queues nothing")
			return
		}
		out := decode[batchOut](t, rec)
		want := map[string]int{}
		seen := map[string]bool{}
		for i, it := range out.Items {
			if it.Error != nil {
				assert.True(t, strings.HasPrefix(it.Error.Field, fmt.Sprintf("events[%d]", i)), "%d: %+v", i, it.Error)
				continue
			}
			require.NotNil(t, it.Deliveries)
			if !seen[it.EventID] {
				want[it.EventID] = *it.Deliveries
				seen[it.EventID] = true
			}
		}
		got := map[string]int{}
		for _, j := range e.q.Sent {
			got[j.EventID]++
		}
		for id, n := range want {
			if n == 0 {
				delete(want, id)
			}
		}
		assert.Equal(t, want, got)
	})
}
