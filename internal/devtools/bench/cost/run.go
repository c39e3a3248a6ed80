package cost

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/systemprompt-io/webhooks/internal/awsx"
	"github.com/systemprompt-io/webhooks/internal/cleanup"
	"github.com/systemprompt-io/webhooks/internal/devtools/bench"
	"github.com/systemprompt-io/webhooks/internal/devtools/localaws"
	"github.com/systemprompt-io/webhooks/internal/store"
)

// Assumed log volume Lambda and API Gateway add per invocation or request,
// which the run cannot measure: with LogFormat JSON, Lambda writes a
// platform.start and a platform.report record per invocation (~600 bytes
// together); the HTTP API's access log line (template.yaml's format, filled
// in) is ~330 bytes. CloudWatch Logs bills each event's size + 26 bytes.
const (
	PlatformLogBytes = 600
	AccessLogBytes   = 330
	LogEventOverhead = 26
)

// PayloadBytes is the size of each event's data: "a 1 KB payload".
const PayloadBytes = 1024

// Event is the event every path triggers.
const Event = "agent.started"

// Path is one way of getting events delivered.
type Path struct {
	Name        string
	Description string
	Subscribers int // webhooks subscribed to the event: deliveries per event
	Ingest      Ingest
}

// Ingest is how events enter the service.
type Ingest int

const (
	ViaAPI           Ingest = iota // POST /events, one event per request
	ViaAPIIdempotent               // POST /events with an Idempotency-Key
	ViaQueueBatch                  // EventsQueue, SendMessageBatch of 10 by the producer
	ViaQueueSingle                 // EventsQueue, one SendMessage per event
	ViaAPIBatch                    // POST /events/batch, BatchSize events per request
)

// BatchSize is the events per POST /events/batch request of the http-batch
// path.
const BatchSize = 10

// Paths are the ways the model measures, in the order printed.
var Paths = []Path{
	{"http", "POST /events (API Gateway + API Lambda), 1 subscriber", 1, ViaAPI},
	{"http-idempotent", "POST /events with Idempotency-Key, 1 subscriber", 1, ViaAPIIdempotent},
	{"http-batch", "POST /events/batch of 10 events (API Gateway + API Lambda), 1 subscriber", 1, ViaAPIBatch},
	{"queue-batch", "EventsQueue, producer SendMessageBatch of 10, 1 subscriber", 1, ViaQueueBatch},
	{"queue-single", "EventsQueue, producer SendMessage per event, 1 subscriber", 1, ViaQueueSingle},
	{"http-fanout10", "POST /events, 1 event to 10 subscribers", 10, ViaAPI},
}

// Config says what to run.
type Config struct {
	// N is the number of deliveries per path (rounded up to a whole number of
	// events).
	N int
	// Clients reach the backend; they stay unmeasured (setup), the run
	// measures copies of them.
	Clients *awsx.Clients
	// Memory is the functions' memory size (MemoryFromTemplate).
	Memory Memory
	// Paths to run (default: all of Paths).
	Paths []Path
	// Progress receives a line per step (nil: quiet).
	Progress io.Writer
	// SweepGrace is the cleanup sweep's grace (CLEANUP_GRACE_DAYS). 0 sweeps
	// every delivery 31 days on, as if TTL had deleted nothing: the worst
	// case. The deployed default, 2, models AWS: TTL (free) has deleted the
	// deliveries before the sweep may, so the sweep's run finds none and
	// costs its queries only.
	SweepGrace int
}

// Result is what one path used, with the raw counts behind it.
type Result struct {
	Path     Path
	Events   int
	Usage    Usage
	Calls    map[string]int          // AWS calls by "Service.Operation"
	SQS      map[string]bench.SQSUse // SQS payloads by operation
	Capacity bench.CapacityReport    // DynamoDB units, reported and computed
	// EmptyReceives are receives that found nothing while draining; they
	// are left out of Usage (an event source mapping's idle polling is a
	// fixed cost, not a per-delivery one).
	EmptyReceives int
	// InPlace is how many deliveries the event batches attempted in place
	// (the rest came through the DeliveryQueue).
	InPlace int
	// ProducerSQS are the producer's own SQS requests (billed, in Usage).
	ProducerSQS int
	Elapsed     time.Duration
	Sweep       Sweep
}

// Sweep is what the retention sweep (cleanup) used to delete a run's
// deliveries once they expired.
type Sweep struct {
	Deleted  int
	Calls    map[string]int
	Capacity bench.CapacityReport
	Duration time.Duration // less the capacity meter's own reads
}

// sweep runs the cleanup sweeper over the stack's deliveries as the daily
// schedule would 31 days later (retention 30), when every delivery of the
// run is past its retention.
func sweep(ctx context.Context, s *bench.Stack, want, grace int) (Sweep, error) {
	var out Sweep
	s.Meters.Reset()
	sw := cleanup.New(store.New(s.Clients.DynamoDB, store.Tables{Webhooks: s.Config.WebhooksTable, Deliveries: s.Config.DeliveriesTable}))
	sw.GraceDays = grace
	if grace > 0 {
		want = 0 // TTL's to delete within the grace; the sweep deletes only what it missed
	}
	later := time.Now().Add(time.Duration(s.Config.RetentionDays+1) * 24 * time.Hour)
	sw.Now = func() time.Time { return later }
	sw.Logger = slog.New(slog.DiscardHandler)
	t0 := time.Now()
	res, err := sw.Sweep(ctx, s.Config.RetentionDays)
	out.Duration = time.Since(t0) - s.Meters.Capacity.SideTime()
	if err != nil {
		return out, err
	}
	if out.Deleted = res.Deleted; out.Deleted != want || !res.Complete {
		return out, fmt.Errorf("deleted %d of %d (complete %v)", res.Deleted, want, res.Complete)
	}
	if out.Capacity, err = s.Meters.Capacity.Report(ctx); err != nil {
		return out, err
	}
	out.Calls = s.Meters.DynamoDB.Snapshot()
	return out, nil
}

// Run measures every path of cfg on a fresh stack each (own tables, queues
// and key), against one local receiver.
func Run(ctx context.Context, cfg Config) ([]Result, error) {
	if cfg.N <= 0 {
		return nil, errors.New("cost: N must be positive")
	}
	if cfg.Memory.API == 0 || cfg.Memory.Delivery == 0 || cfg.Memory.Cleanup == 0 {
		return nil, errors.New("cost: the functions' memory sizes are required")
	}
	paths := cfg.Paths
	if paths == nil {
		paths = Paths
	}
	recv := bench.NewReceiver(0)
	defer recv.Close()
	var out []Result
	for _, p := range paths {
		r, err := runPath(ctx, cfg, p, recv)
		if err != nil {
			return out, fmt.Errorf("path %s: %w", p.Name, err)
		}
		out = append(out, r)
	}
	return out, nil
}

func progress(cfg Config, format string, args ...any) {
	if cfg.Progress != nil {
		fmt.Fprintf(cfg.Progress, format+"\n", args...)
	}
}

// lineCounter counts the bytes and lines (log events) written to it.
type lineCounter struct {
	mu           sync.Mutex
	bytes, lines int64
}

func (c *lineCounter) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.bytes += int64(len(p))
	c.lines += int64(bytes.Count(p, []byte{'\n'}))
	c.mu.Unlock()
	return len(p), nil
}

func (c *lineCounter) reset() {
	c.mu.Lock()
	c.bytes, c.lines = 0, 0
	c.mu.Unlock()
}

// take returns what CloudWatch Logs would ingest of what was written since
// the last take or reset (26 bytes per event included), and the events, and
// starts again.
func (c *lineCounter) take() (ingested, lines int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ingested, lines = c.bytes+c.lines*LogEventOverhead, c.lines
	c.bytes, c.lines = 0, 0
	return ingested, lines
}

// logger is a function's logger as deployed: JSON lines at the template's
// default level (info), counted by c.
func logger(c *lineCounter) *slog.Logger {
	return slog.New(slog.NewJSONHandler(c, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

func runPath(ctx context.Context, cfg Config, p Path, recv *bench.Receiver) (Result, error) {
	res := Result{Path: p}
	// What each function logs in AWS, counted apart: the API function's
	// lines and the delivery function's (whose event and job batches run
	// one after the other below, so they are told apart too).
	apiLogs, deliveryLogs := &lineCounter{}, &lineCounter{}
	// The counts must not depend on how long a run takes on a loaded
	// machine: the pipeline's clock starts a minute into an hour (so a run
	// of under 59 minutes never crosses into a new hour of the stats
	// buckets), and the delivery function keeps webhooks and their health
	// for the whole run (their reads every 15 s per instance are too few to
	// price per delivery; see docs/cost.md).
	base, start := time.Now().Truncate(time.Hour).Add(time.Minute), time.Now()
	s, err := bench.NewStack(ctx, cfg.Clients, bench.StackOptions{Log: logger(deliveryLogs), APILog: logger(apiLogs),
		Now: func() time.Time { return base.Add(time.Since(start)) }, CacheTTL: time.Hour})
	if err != nil {
		return res, err
	}
	defer func() { _ = s.Close(context.WithoutCancel(ctx)) }()
	if _, err := s.CreateWebhooks(ctx, p.Subscribers, map[string]any{
		"name": "cost", "url": recv.URL + "/hook", "events": []string{Event},
		"auth_type": "hmac", "auth_credentials": map[string]any{"secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
	}); err != nil {
		return res, err
	}
	res.Events = (cfg.N + p.Subscribers - 1) / p.Subscribers
	deliveries := res.Events * p.Subscribers
	progress(cfg, "%s: %d events -> %d deliveries", p.Name, res.Events, deliveries)

	s.Meters.Reset()
	apiLogs.reset()
	deliveryLogs.reset()
	received0 := recv.Requests()
	t0 := time.Now()
	data := bench.Payload(PayloadBytes)
	api := Function{Name: "api", MemoryMB: cfg.Memory.API}
	eventBatches := Function{Name: "delivery (event batches)", MemoryMB: cfg.Memory.Delivery}
	jobBatches := Function{Name: "delivery (job batches)", MemoryMB: cfg.Memory.Delivery, Sends: true}

	switch p.Ingest {
	case ViaAPI, ViaAPIIdempotent:
		for i := range res.Events {
			var hdr []string
			if p.Ingest == ViaAPIIdempotent {
				hdr = []string{"Idempotency-Key", "cost-" + strconv.Itoa(i) + "-" + strconv.FormatInt(t0.UnixNano(), 36)}
			}
			var ans struct {
				Deliveries int `json:"deliveries"`
			}
			side0 := s.Meters.Capacity.SideTime()
			t := time.Now()
			code, err := s.Do(ctx, http.MethodPost, "/events", map[string]any{"event": Event, "data": data}, &ans, hdr...)
			d := time.Since(t) - (s.Meters.Capacity.SideTime() - side0)
			if err != nil {
				return res, err
			}
			if code != http.StatusAccepted || ans.Deliveries != p.Subscribers {
				return res, fmt.Errorf("POST /events: %d, %d deliveries", code, ans.Deliveries)
			}
			api.Invocations++
			api.BilledMS += BilledMS(d)
		}
		res.Usage.APIRequests = res.Events
		api.LogBytes, api.LogLines = apiLogs.take()
	case ViaAPIBatch:
		event := map[string]any{"event": Event, "data": data}
		for from := 0; from < res.Events; from += BatchSize {
			evs := make([]any, min(BatchSize, res.Events-from))
			for k := range evs {
				evs[k] = event
			}
			var ans struct {
				Items []struct {
					Deliveries int `json:"deliveries"`
				} `json:"items"`
			}
			side0 := s.Meters.Capacity.SideTime()
			t := time.Now()
			code, err := s.Do(ctx, http.MethodPost, "/events/batch", map[string]any{"events": evs}, &ans)
			d := time.Since(t) - (s.Meters.Capacity.SideTime() - side0)
			if err != nil {
				return res, err
			}
			if code != http.StatusAccepted || len(ans.Items) != len(evs) {
				return res, fmt.Errorf("POST /events/batch: %d, %d items for %d events", code, len(ans.Items), len(evs))
			}
			for _, it := range ans.Items {
				if it.Deliveries != p.Subscribers {
					return res, fmt.Errorf("POST /events/batch: an item with %d deliveries", it.Deliveries)
				}
			}
			api.Invocations++
			api.BilledMS += BilledMS(d)
			res.Usage.APIRequests++
		}
		api.LogBytes, api.LogLines = apiLogs.take()
	case ViaQueueBatch, ViaQueueSingle:
		body, err := json.Marshal(map[string]any{"event": Event, "data": data})
		if err != nil {
			return res, err
		}
		if res.ProducerSQS, err = produce(ctx, s, res.Events, string(body), p.Ingest == ViaQueueBatch); err != nil {
			return res, err
		}
		dr, err := s.Drain(ctx, s.URLs.EventsQueue, res.Events, localaws.SQSHandler(s.Pipeline.SQSHandler()), 30*time.Second)
		if err != nil {
			return res, fmt.Errorf("events queue: %w", err)
		}
		res.EmptyReceives += dr.EmptyReceives
		eventBatches.add(dr)
		eventBatches.LogBytes, eventBatches.LogLines = deliveryLogs.take()
	}
	progress(cfg, "%s: ingested in %s", p.Name, time.Since(t0).Round(time.Millisecond))

	// An event batch attempts its first deliveries in place (its function
	// then POSTs to subscribers); only the rest come through the
	// DeliveryQueue.
	inPlace := int(recv.Requests() - received0)
	if inPlace > 0 {
		eventBatches.Sends = true
	}
	if rest := deliveries - inPlace; rest > 0 {
		dr, err := s.Drain(ctx, s.URLs.DeliveryQueue, rest, localaws.SQSHandler(s.Pipeline.SQSHandler()), 30*time.Second)
		if err != nil {
			return res, fmt.Errorf("delivery queue: %w", err)
		}
		res.EmptyReceives += dr.EmptyReceives
		jobBatches.add(dr)
		jobBatches.LogBytes, jobBatches.LogLines = deliveryLogs.take()
	}
	res.InPlace = inPlace
	res.Elapsed = time.Since(t0)
	if got := recv.Requests() - received0; got != int64(deliveries) {
		return res, fmt.Errorf("the receiver got %d requests, want %d", got, deliveries)
	}

	if res.Capacity, err = s.Meters.Capacity.Report(ctx); err != nil {
		return res, err
	}
	// Name the tables as the template does, and drop indexes never written.
	writes := map[string]float64{}
	for k, v := range res.Capacity.Writes {
		k = strings.Replace(k, s.Config.WebhooksTable, "webhooks", 1)
		k = strings.Replace(k, s.Config.DeliveriesTable, "deliveries", 1)
		if v > 0 {
			writes[k] = v
		}
	}
	res.Capacity.Writes = writes

	res.Calls = map[string]int{}
	for svc, c := range map[string]map[string]int{"DynamoDB": s.Meters.DynamoDB.Snapshot(), "SQS": s.Meters.SQS.Snapshot(), "KMS": s.Meters.KMS.Snapshot()} {
		for op, n := range c {
			res.Calls[svc+"."+op] = n
		}
	}
	res.SQS = s.Meters.Queue.Snapshot()

	u := &res.Usage
	u.Deliveries = deliveries
	for _, f := range []Function{api, eventBatches, jobBatches} {
		if f.Invocations > 0 {
			u.Functions = append(u.Functions, f)
		}
	}

	for _, use := range res.SQS {
		u.SQSRequests += use.Chunks
	}
	u.SQSRequests -= res.EmptyReceives
	computed := res.Capacity.ComputedTotal()
	u.ReadUnits, u.WriteUnits = computed.Read, computed.Write
	u.KMSRequests = s.Meters.KMS.Total()
	u.LogBytes = u.PlatformLogBytes() + u.AccessLogBytes()
	for _, f := range u.Functions {
		u.LogBytes += f.LogBytes
	}
	progress(cfg, "%s: delivered in %s", p.Name, res.Elapsed.Round(time.Millisecond))

	// Later, the retention sweep deletes what this run delivered (measured
	// apart: it resets the meters).
	if res.Sweep, err = sweep(ctx, s, deliveries, cfg.SweepGrace); err != nil {
		return res, fmt.Errorf("retention sweep: %w", err)
	}
	progress(cfg, "%s: swept %d deliveries in %s", p.Name, res.Sweep.Deleted, res.Sweep.Duration.Round(time.Millisecond))
	// The sweep runs once a day whatever the volume: its duration grows
	// with the deliveries it deletes, its single request does not.
	u.Functions = append(u.Functions, Function{Name: "cleanup (sweep)", MemoryMB: cfg.Memory.Cleanup, BilledMS: BilledMS(res.Sweep.Duration)})
	sw := res.Sweep.Capacity.ComputedTotal()
	u.SweepReadUnits, u.SweepWriteUnits = sw.Read, sw.Write
	return res, nil
}

func (f *Function) add(dr bench.DrainResult) {
	for _, inv := range dr.Invocations {
		f.Invocations++
		f.BilledMS += BilledMS(inv.Duration)
	}
}

// produce posts n event messages to the stack's events queue as a producer
// would: batches of 10, or one message each. It returns its requests.
func produce(ctx context.Context, s *bench.Stack, n int, body string, batch bool) (int, error) {
	client, url := s.Clients.SQS, aws.String(s.URLs.EventsQueue)
	calls := 0
	if !batch {
		for range n {
			if _, err := client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: url, MessageBody: aws.String(body)}); err != nil {
				return calls, fmt.Errorf("send event: %w", err)
			}
			calls++
		}
		return calls, nil
	}
	ids := make([]int, n)
	for i := range ids {
		ids[i] = i
	}
	for chunk := range slices.Chunk(ids, 10) {
		entries := make([]sqstypes.SendMessageBatchRequestEntry, len(chunk))
		for k, i := range chunk {
			entries[k] = sqstypes.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(body)}
		}
		out, err := client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: url, Entries: entries})
		if err != nil {
			return calls, fmt.Errorf("send events: %w", err)
		}
		calls++
		if len(out.Failed) > 0 {
			return calls, fmt.Errorf("send events: %d failed", len(out.Failed))
		}
	}
	return calls, nil
}
