package cost

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/devtools/testenv"
)

func item(b Bill, name string) LineItem {
	for _, it := range b.Items {
		if it.Name == name {
			return it
		}
	}
	return LineItem{}
}

func TestEstimate(t *testing.T) {
	const M = 1_000_000
	busy := Usage{
		Deliveries: M, APIRequests: M,
		Functions: []Function{
			{Name: "api", MemoryMB: 256, Invocations: M, BilledMS: 10 * M},                         // 10 ms each: 2,500 GB-s
			{Name: "jobs", MemoryMB: 256, Invocations: M / 10, BilledMS: 50 * M / 10, Sends: true}, // 50 ms each: 1,250 GB-s
		},
		SQSRequests: 1.2 * M, ReadUnits: M, WriteUnits: 2.1 * M, LogBytes: 1 << 30,
	}
	for _, c := range []struct {
		name      string
		u         Usage
		latency   time.Duration
		core, all float64
		// priced is the figure the report gives: core and logs, no X-Ray.
		priced float64
		items  map[string]float64
	}{
		{
			name: "API path, as measured", u: busy,
			core:   1 + 0.22 + 3750*0.0000133334 + 0.48 + 1.3125 + 0.125,
			all:    1 + 0.22 + 3750*0.0000133334 + 0.48 + 1.3125 + 0.125 + 0.5 + 1.1*0.05*5,
			priced: 1 + 0.22 + 3750*0.0000133334 + 0.48 + 1.3125 + 0.125 + 0.5,
			items: map[string]float64{
				"API Gateway requests": 1, "Lambda requests": 0.22, "Lambda duration, api": 2500 * 0.0000133334,
				"Lambda duration, jobs": 1250 * 0.0000133334, "SQS requests (64 KB chunks)": 0.48,
				"DynamoDB write units": 1.3125, "DynamoDB read units": 0.125, "KMS requests": 0,
				"CloudWatch Logs ingestion": 0.5, "X-Ray traces": 0.275,
			},
		},
		{
			// 100 ms more per job batch: 100,000 × 0.1 s × 0.25 GB = 2,500 GB-s
			// more, on the sending function only.
			name: "API path, 100 ms endpoint", u: busy, latency: 100 * time.Millisecond,
			core:   1 + 0.22 + 6250*0.0000133334 + 0.48 + 1.3125 + 0.125,
			all:    1 + 0.22 + 6250*0.0000133334 + 0.48 + 1.3125 + 0.125 + 0.5 + 0.275,
			priced: 1 + 0.22 + 6250*0.0000133334 + 0.48 + 1.3125 + 0.125 + 0.5,
			items: map[string]float64{
				"Lambda duration, api": 2500 * 0.0000133334, "Lambda duration, jobs": 3750 * 0.0000133334,
			},
		},
		{
			name: "queue path, small run",
			u: Usage{Deliveries: 1000, Functions: []Function{{Name: "jobs", MemoryMB: 256, Invocations: 100, BilledMS: 1000}},
				SQSRequests: 300, WriteUnits: 1000, KMSRequests: 2},
			core:   0.02 + 0.25/1000*13.3334 + 0.12 + 0.625 + 0.006,
			all:    0.02 + 0.25/1000*13.3334 + 0.12 + 0.625 + 0.006 + 0.1*0.05*5,
			priced: 0.02 + 0.25/1000*13.3334 + 0.12 + 0.625 + 0.006,
			items: map[string]float64{
				"Lambda requests": 0.02, "SQS requests (64 KB chunks)": 0.12, "DynamoDB write units": 0.625,
				"KMS requests": 0.006, "X-Ray traces": 0.025,
			},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := Estimate(c.u, ListPrices, c.latency)
			assert.InDelta(t, c.core, b.Core, 1e-9)
			assert.InDelta(t, c.all, b.Total, 1e-9)
			assert.InDelta(t, c.priced, b.WithLogs, 1e-9)
			for _, it := range b.Items {
				assert.Equal(t, it.Name == "X-Ray traces", it.Optional, "only X-Ray is left out of the priced figure: %s", it.Name)
			}
			for name, want := range c.items {
				assert.InDelta(t, want, item(b, name).DollarsM, 1e-9, name)
			}
		})
	}
	t.Run("retention sweep lines", func(t *testing.T) {
		// 2 WRU per delivery deleted (the item and its by_day entry), a
		// cleanup run's duration but no per-delivery request.
		u := Usage{Deliveries: 1000, SweepWriteUnits: 2001, SweepReadUnits: 40,
			Functions: []Function{{Name: "cleanup", MemoryMB: 256, BilledMS: 4000}}}
		b := Estimate(u, ListPrices, time.Second)
		assert.InDelta(t, 2.001*0.625, item(b, "DynamoDB write units, retention sweep").DollarsM, 1e-9)
		assert.InDelta(t, 0.04*0.125, item(b, "DynamoDB read units, retention sweep").DollarsM, 1e-9)
		assert.InDelta(t, 0.001*13.3334, item(b, "Lambda duration, cleanup").DollarsM, 1e-9, "1 GB-s for 1,000 deliveries")
		assert.Zero(t, item(b, "Lambda requests").DollarsM)
	})
	t.Run("no API Gateway line without API requests", func(t *testing.T) {
		b := Estimate(Usage{Deliveries: 1, Functions: []Function{{Name: "jobs", MemoryMB: 128, Invocations: 1}}}, ListPrices, 0)
		assert.Empty(t, item(b, "API Gateway requests").Name)
	})
	t.Run("nothing delivered costs nothing", func(t *testing.T) {
		assert.Equal(t, Bill{}, Estimate(Usage{}, ListPrices, time.Second))
	})
}

func TestBilledMS(t *testing.T) {
	for d, want := range map[time.Duration]float64{
		0: 0, time.Nanosecond: 1, time.Millisecond: 1, 1001 * time.Microsecond: 2, 52*time.Millisecond + 300*time.Microsecond: 53,
	} {
		assert.Equal(t, want, BilledMS(d), d.String())
	}
}

func TestMemoryFromTemplate(t *testing.T) {
	m, err := MemoryFromTemplate("../../../../template.yaml")
	require.NoError(t, err)
	assert.Equal(t, Memory{API: 256, Delivery: 256, Cleanup: 256}, m, "template.yaml's sizes")

	dir := t.TempDir()
	write := func(body string) string {
		p := filepath.Join(dir, "t.yaml")
		require.NoError(t, os.WriteFile(p, []byte(body), 0o600))
		return p
	}
	m, err = MemoryFromTemplate(write(`
Globals:
  Function:
    MemorySize: 512
Resources:
  ApiFunction:
    Properties: {CodeUri: ., Role: !GetAtt R.Arn}
  DeliveryFunction:
    Properties: {MemorySize: 1024}
  CleanupFunction:
    Properties: {Timeout: 900}
`))
	require.NoError(t, err)
	assert.Equal(t, Memory{API: 512, Delivery: 1024, Cleanup: 512}, m, "a function's own size wins over Globals")

	m, err = MemoryFromTemplate(write("Resources: {ApiFunction: {}, DeliveryFunction: {}, CleanupFunction: {}}\n"))
	require.NoError(t, err)
	assert.Equal(t, Memory{API: 128, Delivery: 128, Cleanup: 128}, m, "Lambda's default")

	_, err = MemoryFromTemplate(write("Resources: {ApiFunction: {}, CleanupFunction: {}}\n"))
	assert.ErrorContains(t, err, "no DeliveryFunction")
	_, err = MemoryFromTemplate(write("Resources: {ApiFunction: {Properties: {MemorySize: big}}, DeliveryFunction: {}, CleanupFunction: {}}\n"))
	assert.ErrorContains(t, err, "not a number")
}

// TestRun runs every path with a few deliveries through the real handlers
// and checks the counts that make the bill. On the emulator the computed
// capacity is checked too (it needs only ReturnValues); on the reference
// stand-ins also that the backend's own figures are collected.
func TestRun(t *testing.T) {
	bs := []testenv.Backend{testenv.Kumo(t)}
	if testenv.Strict() || (os.Getenv(EnvDynamoDB) != "" && os.Getenv(EnvSQS) != "") {
		bs = append(bs, testenv.Reference(t))
	}
	const n = 30
	for _, b := range bs {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			var progress bytes.Buffer
			results, err := Run(context.Background(), Config{N: n, Clients: b.Clients, Memory: Memory{API: 256, Delivery: 256, Cleanup: 256}, Progress: &progress})
			require.NoError(t, err, progress.String())
			require.Len(t, results, len(Paths))
			for _, r := range results {
				t.Run(r.Path.Name, func(t *testing.T) {
					checkRun(t, b.Name, r)
				})
			}
			var out bytes.Buffer
			Write(&out, Setup{N: n, Backend: b.Name, Memory: Memory{API: 256, Delivery: 256, Cleanup: 256}, Latency: 100 * time.Millisecond}, results, ListPrices)
			for _, p := range Paths {
				assert.Contains(t, out.String(), "== "+p.Name+": ")
			}
			assert.Contains(t, out.String(), "== summary")
			for _, want := range []string{"logs per delivery (LOG_LEVEL=info):", "CloudWatch Logs ingestion ", "total, logs included", "of which logs"} {
				assert.Contains(t, out.String(), want)
			}
			assert.NotContains(t, out.String(), "CloudWatch Logs ingestion (*)", "logs are priced, not optional")
		})
	}
}

func checkRun(t *testing.T, backend string, r Result) {
	u, calls, subs := r.Usage, r.Calls, r.Path.Subscribers
	events := (30 + subs - 1) / subs
	require.Equal(t, events*subs, u.Deliveries)
	assert.Equal(t, events, r.Events)

	var jobs, evs Function
	for _, f := range u.Functions {
		switch f.Name {
		case "delivery (job batches)":
			jobs = f
		case "delivery (event batches)":
			evs = f
		}
		assert.Positive(t, f.BilledMS, f.Name)
	}
	// An event batch attempts its (≤ 10) one-subscriber deliveries in place:
	// no job batches at all on the queue paths.
	queued := u.Deliveries
	switch r.Path.Ingest {
	case ViaQueueBatch, ViaQueueSingle:
		assert.Equal(t, u.Deliveries, r.InPlace, "every delivery attempted in place")
		assert.True(t, evs.Sends)
		queued = 0
	default:
		assert.Zero(t, r.InPlace)
	}
	// Batches of at most 10; on the emulator a receive returns 10 whenever
	// 10 are there.
	assert.GreaterOrEqual(t, jobs.Invocations, queued/10)
	if backend == "kumo" {
		assert.Equal(t, queued/10, jobs.Invocations)
	}
	if queued > 0 {
		assert.True(t, jobs.Sends)
	}
	// A run across an hour's end puts each webhook's last two hours of
	// stats (one BatchWriteItem of two 1-WRU items each, on the webhooks
	// table); none otherwise.
	hourPuts := int(r.Capacity.Writes["webhooks"]) - (calls["DynamoDB.UpdateItem"] - idempotencyCompletions(r)) - 2*idempotencyPuts(r)
	assert.GreaterOrEqual(t, hourPuts, 0)
	assert.LessOrEqual(t, hourPuts, 2*subs, "at most one hour's end per webhook")
	assert.LessOrEqual(t, calls["DynamoDB.BatchWriteItem"], subs)
	assert.Equal(t, u.Deliveries, calls["DynamoDB.PutItem"]-idempotencyPuts(r), "one delivery record per delivery")
	assert.Equal(t, jobs.Invocations+evs.Invocations, calls["SQS.DeleteMessageBatch"], "one delete per batch")
	assert.Equal(t, jobs.Invocations+evs.Invocations+r.EmptyReceives, calls["SQS.ReceiveMessage"])

	switch r.Path.Ingest {
	case ViaAPI, ViaAPIIdempotent:
		assert.Equal(t, events, u.APIRequests)
		assert.Equal(t, events, calls["DynamoDB.Query"], "one subscriber query per trigger")
		assert.Equal(t, events, calls["SQS.SendMessageBatch"], "one SendMessageBatch per trigger of ≤ 10 subscribers")
		assert.Zero(t, evs.Invocations)
	case ViaAPIBatch:
		// 10 events per request, fanned out together: one query and one
		// SendMessageBatch per request.
		reqs := (events + BatchSize - 1) / BatchSize
		assert.Equal(t, reqs, u.APIRequests)
		assert.Equal(t, reqs, calls["DynamoDB.Query"], "one subscriber query per batch request")
		assert.Equal(t, reqs, calls["SQS.SendMessageBatch"], "one SendMessageBatch per batch request of 10 one-subscriber events")
		assert.Zero(t, evs.Invocations)
	case ViaQueueBatch:
		assert.Zero(t, u.APIRequests)
		assert.Equal(t, events/10, r.ProducerSQS)
		// A handler batch's events fan out together: one event type, ≤ 10
		// one-subscriber jobs, so one query each, and the jobs are attempted
		// in place: no SendMessageBatch of jobs.
		assert.Equal(t, events/10, calls["SQS.SendMessageBatch"], "the producer's batches only")
		assert.Equal(t, evs.Invocations, calls["DynamoDB.Query"], "one subscriber query per handler batch")
	case ViaQueueSingle:
		assert.Equal(t, events, calls["SQS.SendMessage"])
		assert.Zero(t, calls["SQS.SendMessageBatch"], "the jobs are attempted in place")
	}
	// One stats update per webhook and batch that attempts.
	statsUpdates := calls["DynamoDB.UpdateItem"] - idempotencyCompletions(r)
	attempting := jobs.Invocations
	if r.InPlace > 0 {
		attempting += evs.Invocations
	}
	if subs == 1 {
		assert.Equal(t, attempting, statsUpdates)
	} else {
		assert.Equal(t, u.Deliveries, statsUpdates, "a batch holds one event's jobs for 10 webhooks")
	}

	// SQS: every call billed at least once; 1 KB messages never need a
	// second chunk; idle receives left out.
	sqsCalls := 0
	for k, v := range calls {
		if strings.HasPrefix(k, "SQS.") {
			sqsCalls += v
		}
	}
	assert.Equal(t, sqsCalls-r.EmptyReceives, u.SQSRequests)

	// DynamoDB, by DynamoDB's rules: a delivery record (< 1 KB) is 1 unit
	// (the table has no index); a stats update 1; a key claim and completion 1
	// each; a healthy endpoint's health nothing. Reads: a subscriber query 1
	// (strongly consistent, < 4 KB), the webhook reads of the attempter's
	// cache 1 each (one Decrypt each, below), and beside each the breaker's
	// health read, eventually consistent: 0.5.
	webhookReads := calls["KMS.Decrypt"]
	healthReads := calls["DynamoDB.GetItem"] - webhookReads
	assert.Equal(t, webhookReads, healthReads, "one health read per webhook read")
	w := r.Capacity.Writes
	assert.InDelta(t, float64(u.Deliveries), w["deliveries"], 1e-9)
	assert.Zero(t, w["deliveries/by_day"])
	assert.InDelta(t, float64(statsUpdates+hourPuts+2*idempotencyPuts(r)), w["webhooks"], 1e-9)
	assert.InDelta(t, float64(u.Deliveries+statsUpdates+hourPuts+2*idempotencyPuts(r)), u.WriteUnits, 1e-9)
	assert.InDelta(t, float64(calls["DynamoDB.Query"]+webhookReads)+0.5*float64(healthReads), u.ReadUnits, 1e-9)
	if backend != "kumo" {
		rep := r.Capacity.Reported
		assert.Positive(t, rep["PutItem"].Write, "the reference stand-in reports PutItem capacity")
		assert.Positive(t, rep["Query"].Read, "and Query capacity")
	}
	// The retention sweep, 31 days later (no grace, as if TTL had deleted
	// nothing): every delivery deleted with a BatchWriteItem of up to 25 of
	// one webhook (1 WRU each), one query of the webhook ids and one per
	// webhook, the cursor read (and, the run complete, not written).
	sw := r.Sweep
	assert.Equal(t, u.Deliveries, sw.Deleted)
	assert.Equal(t, map[string]int{"BatchWriteItem": subs * ((events + 24) / 25), "Query": 1 + subs, "GetItem": 1}, sw.Calls)
	assert.InDelta(t, float64(u.Deliveries), u.SweepWriteUnits, 1e-9)
	assert.Positive(t, u.SweepReadUnits)

	// One Decrypt per webhook fetch (the webhooks are HMAC-signed).
	assert.Equal(t, calls["KMS.Decrypt"], u.KMSRequests)
	assert.Positive(t, u.LogBytes)

	// Logs: each function's own lines, counted apart, plus the assumed
	// platform records and access log lines. Every API request and every
	// handler batch logs an info line; a successful attempt none.
	logs := u.PlatformLogBytes() + u.AccessLogBytes()
	for _, f := range u.Functions {
		logs += f.LogBytes
		assert.Equal(t, f.LogLines > 0, f.LogBytes > 0, f.Name)
		assert.GreaterOrEqual(t, f.LogBytes, f.LogLines*(LogEventOverhead+2), "%s: at least {} and the event overhead per line", f.Name)
	}
	assert.Equal(t, logs, u.LogBytes)
	assert.Equal(t, int64(u.Invocations())*(PlatformLogBytes+LogEventOverhead), u.PlatformLogBytes())
	assert.Equal(t, int64(u.APIRequests)*(AccessLogBytes+LogEventOverhead), u.AccessLogBytes())
	assert.Equal(t, jobs.LogLines, int64(jobs.Invocations), "a line per job batch, none per successful attempt")
	// A batch of 10 logs ~20 bytes per delivery; a receive may bring fewer.
	if jobs.Invocations > 0 {
		assert.LessOrEqual(t, float64(jobs.LogBytes)/float64(jobs.Invocations), 300.0, "one short line per batch")
	}
	if evs.Invocations > 0 {
		assert.Equal(t, evs.LogLines, int64(evs.Invocations), "a line per event batch, none per event or attempt in place")
		assert.LessOrEqual(t, float64(evs.LogBytes)/float64(evs.Invocations), 300.0, "one short line per batch")
	}
	if u.APIRequests > 0 {
		assert.GreaterOrEqual(t, fn(u, "api").LogLines, int64(u.APIRequests), "a line per API request")
	}
}

func fn(u Usage, name string) Function {
	for _, f := range u.Functions {
		if f.Name == name {
			return f
		}
	}
	return Function{}
}

// idempotencyPuts is the key claims of a path (one PutItem per request).
func idempotencyPuts(r Result) int {
	if r.Path.Ingest == ViaAPIIdempotent {
		return r.Usage.APIRequests
	}
	return 0
}

// idempotencyCompletions is the key completions of a path (one UpdateItem
// per request).
func idempotencyCompletions(r Result) int { return idempotencyPuts(r) }

// With the deployed grace, TTL is left to delete (free) and the sweep that
// runs a day after expiry deletes nothing: it pays only its queries.
func TestRunSweepGrace(t *testing.T) {
	b := testenv.Kumo(t)
	path := Paths[0]
	for _, p := range Paths {
		if p.Ingest == ViaQueueBatch {
			path = p
		}
	}
	results, err := Run(context.Background(), Config{N: 20, Clients: b.Clients, Memory: Memory{API: 256, Delivery: 256, Cleanup: 256},
		Paths: []Path{path}, SweepGrace: 2})
	require.NoError(t, err)
	require.Len(t, results, 1)
	assert.Zero(t, results[0].Sweep.Deleted)
	assert.Zero(t, results[0].Usage.SweepWriteUnits)
	assert.Zero(t, results[0].Sweep.Calls["BatchWriteItem"])
	assert.Positive(t, results[0].Sweep.Calls["Query"], "the sweep still looks: %v", results[0].Sweep.Calls)
}
