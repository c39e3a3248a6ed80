package cost

import (
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// Setup describes a run for the report's header.
type Setup struct {
	N        int
	Backend  string // e.g. "DynamoDB: moto (http://...), SQS: ElasticMQ (...), KMS: kumo"
	Memory   Memory
	Latency  time.Duration // the assumed endpoint latency of the second column
	Capacity string        // which capacity figures are priced, and why
}

// Write prints the report: per path the raw counts, the bill per million
// deliveries (as measured, and with the assumed endpoint latency), what
// dominates it and what would bring it down; then a summary.
func Write(w io.Writer, s Setup, results []Result, p Prices) {
	fmt.Fprintf(w, "Cost model: first-attempt deliveries of a %d-byte payload, priced per million deliveries at us-east-1 list prices.\n", PayloadBytes)
	fmt.Fprintf(w, "Backend: %s\n", s.Backend)
	fmt.Fprintf(w, "Lambda: arm64, api %d MB, delivery %d MB (template.yaml); $%.2f/M requests, $%.10f/GB-s.\n",
		s.Memory.API, s.Memory.Delivery, p.LambdaRequestPerM, p.LambdaGBSecond)
	fmt.Fprintf(w, "DynamoDB units: %s\n", s.Capacity)
	fmt.Fprintf(w, "Durations are this machine's, on the stand-ins, against a loopback receiver that answers at once: no endpoint latency is in them\n"+
		"(the second column adds %s to every job batch, whose 10 attempts run concurrently); the stand-ins' own speed is (moto serves one request at a time).\n", s.Latency)
	fmt.Fprintf(w, "Every total includes CloudWatch Logs ingestion ($%.2f/GB): each function's own lines as it logs them in the run at LOG_LEVEL=info,\n"+
		"counted per function, plus Lambda's platform records (~%d B per invocation) and API Gateway's access log (~%d B per request), assumed.\n"+
		"X-Ray (*) is shown apart: tracing can be turned off, logging cannot.\n", p.LogsPerGB, PlatformLogBytes, AccessLogBytes)
	for _, r := range results {
		writePath(w, s, r, p)
	}
	fmt.Fprintf(w, "\n== summary ($ per million deliveries; target $%.2f = EventBridge API destinations)\n", p.TargetPerM)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "path\ttotal\ttotal +"+s.Latency.String()+"\tof which logs\twith X-Ray\tvs target\t")
	for _, r := range results {
		b, bl := Estimate(r.Usage, p, 0), Estimate(r.Usage, p, s.Latency)
		fmt.Fprintf(tw, "%s\t%.4f\t%.4f\t%.4f\t%.4f\t%.2fx\t\n", r.Path.Name, b.WithLogs, bl.WithLogs, b.WithLogs-b.Core, b.Total, b.WithLogs/p.TargetPerM)
	}
	tw.Flush()
	fmt.Fprintln(w, "\nFixed costs, whatever the volume (not in the figures above):")
	fmt.Fprintln(w, "  - SQS event source mappings poll while idle: Lambda starts 5 pollers per queue, each long-polling (20 s), so")
	fmt.Fprintln(w, "    ~15 ReceiveMessage/min per queue; 2 queues = ~1.3 M requests = ~$0.52 per month.")
	fmt.Fprintln(w, "  - X-Ray's default sampling traces 1 request per second and 5 % of the rest, per function: at under ~1 invocation/s")
	fmt.Fprintln(w, "    nearly every one is traced ($5/M); the 1/s share is up to ~2.6 M traces (~$13) per function and month.")
	fmt.Fprintln(w, "  - The attempter caches each webhook with its opened credentials for 15 s per Lambda instance: one GetItem")
	fmt.Fprintln(w, "    and one KMS Decrypt per webhook, instance and 15 s of activity (in the figures as measured, usually ~0).")
}

func writePath(w io.Writer, s Setup, r Result, p Prices) {
	u := r.Usage
	n := float64(u.Deliveries)
	fmt.Fprintf(w, "\n== %s: %s\n", r.Path.Name, r.Path.Description)
	fmt.Fprintf(w, "   %d events, %d deliveries, %s\n", r.Events, u.Deliveries, r.Elapsed.Round(time.Millisecond))
	if r.InPlace > 0 {
		fmt.Fprintf(w, "   attempted in place by the event batches: %d of %d deliveries (no job message for them)\n", r.InPlace, u.Deliveries)
	}

	fmt.Fprintf(w, "   AWS calls per delivery:")
	for _, k := range sortedKeys(r.Calls) {
		fmt.Fprintf(w, " %s %.3f", k, float64(r.Calls[k])/n)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "   SQS (calls/messages/bytes/billed):")
	for _, k := range sortedKeys(r.SQS) {
		q := r.SQS[k]
		fmt.Fprintf(w, " %s %d/%d/%d/%d", k, q.Requests, q.Messages, q.Bytes, q.Chunks)
	}
	if r.EmptyReceives > 0 {
		fmt.Fprintf(w, "; %d empty receives left out", r.EmptyReceives)
	}
	fmt.Fprintln(w)
	c, rep := r.Capacity.ComputedTotal(), r.Capacity.ReportedTotal()
	fmt.Fprintf(w, "   DynamoDB units per delivery: computed %.3f RRU, %.3f WRU (", c.Read/n, c.Write/n)
	for i, k := range sortedKeys(r.Capacity.Writes) {
		if i > 0 {
			fmt.Fprint(w, ", ")
		}
		fmt.Fprintf(w, "%s %.3f", k, r.Capacity.Writes[k]/n)
	}
	fmt.Fprintf(w, "); reported by the backend %.3f RRU, %.3f WRU\n", rep.Read/n, rep.Write/n)
	fmt.Fprintf(w, "   Lambda:")
	for _, f := range u.Functions {
		if f.Invocations > 0 {
			fmt.Fprintf(w, " %s %d invocations, %.1f ms billed on average;", f.Name, f.Invocations, f.BilledMS/float64(f.Invocations))
		} else {
			fmt.Fprintf(w, " %s %.0f ms in one run;", f.Name, f.BilledMS)
		}
	}
	fmt.Fprintln(w)
	sw := r.Sweep.Capacity.ComputedTotal()
	fmt.Fprintf(w, "   retention sweep (cleanup, 31 days later): %d deleted;", r.Sweep.Deleted)
	for _, k := range sortedKeys(r.Sweep.Calls) {
		fmt.Fprintf(w, " %s %d", k, r.Sweep.Calls[k])
	}
	fmt.Fprintf(w, "; computed %.3f RRU, %.3f WRU per delivery\n", sw.Read/n, sw.Write/n)
	fmt.Fprintf(w, "   logs per delivery (LOG_LEVEL=info):")
	for _, f := range u.Functions {
		if f.Invocations > 0 {
			fmt.Fprintf(w, " %s %.2f lines %.0f B;", f.Name, float64(f.LogLines)/n, float64(f.LogBytes)/n)
		}
	}
	fmt.Fprintf(w, " Lambda platform records %.0f B", float64(u.PlatformLogBytes())/n)
	if u.APIRequests > 0 {
		fmt.Fprintf(w, "; API Gateway access log %.0f B", float64(u.AccessLogBytes())/n)
	}
	fmt.Fprintf(w, "; in all %.0f B\n", float64(u.LogBytes)/n)

	b, bl := Estimate(u, p, 0), Estimate(u, p, s.Latency)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "   line item\tper delivery\t$/M\t$/M +%s\t\n", s.Latency)
	for i, it := range b.Items {
		mark := ""
		if it.Optional {
			mark = " (*)"
		}
		fmt.Fprintf(tw, "   %s%s\t%.6g %s\t%.4f\t%.4f\t\n", it.Name, mark, it.PerUnit, it.Unit, it.DollarsM, bl.Items[i].DollarsM)
	}
	fmt.Fprintf(tw, "   total, logs included\t\t%.4f\t%.4f\t\n", b.WithLogs, bl.WithLogs)
	fmt.Fprintf(tw, "   with (*) X-Ray traces\t\t%.4f\t%.4f\t\n", b.Total, bl.Total)
	fmt.Fprintf(tw, "   target\t\t%.4f\t\t\n", p.TargetPerM)
	tw.Flush()
	if b.WithLogs <= p.TargetPerM {
		fmt.Fprintf(w, "   the total is within the target (%.2fx).\n", b.WithLogs/p.TargetPerM)
	} else {
		fmt.Fprintf(w, "   the total is %.2fx the target; dominated by %s.\n", b.WithLogs/p.TargetPerM, dominant(b))
	}
	hints := Hints(r, p)
	if len(hints) > 0 {
		fmt.Fprintln(w, "   what it would take:")
		for _, h := range hints {
			fmt.Fprintf(w, "   - %s\n", h)
		}
	}
}

// dominant names the largest priced items, up to 3 that make 80 % of the
// total.
func dominant(b Bill) string {
	items := slices.Clone(b.Items)
	items = slices.DeleteFunc(items, func(it LineItem) bool { return it.Optional })
	sort.SliceStable(items, func(i, j int) bool { return items[i].DollarsM > items[j].DollarsM })
	var parts []string
	acc := 0.0
	for _, it := range items {
		parts = append(parts, fmt.Sprintf("%s $%.3f (%.0f%%)", it.Name, it.DollarsM, 100*it.DollarsM/b.WithLogs))
		acc += it.DollarsM
		if acc >= 0.8*b.WithLogs || len(parts) == 3 {
			break
		}
	}
	return strings.Join(parts, ", ")
}

// Hints says, from a path's measured counts, what would bring its cost down
// and by how much per million deliveries.
func Hints(r Result, p Prices) []string {
	u := r.Usage
	if u.Deliveries == 0 {
		return nil
	}
	n := float64(u.Deliveries)
	var out []string
	saved := 0.0
	if u.APIRequests > 0 && r.Path.Ingest != ViaAPIBatch {
		per := float64(u.APIRequests) / n
		now := per * (p.APIGatewayPerM + p.LambdaRequestPerM)
		out = append(out, fmt.Sprintf("one event per API request costs $%.3f in API Gateway + API Lambda requests alone; POST /events/batch "+
			"with 10 events per request costs $%.3f (see http-batch), or producers can post to the EventsQueue (see queue-batch)", now, now/10))
		saved += now * 0.9
	}
	index := 0.0
	for k, v := range r.Capacity.Writes {
		if strings.Contains(k, "/") {
			index += v
		}
	}
	if index > 0 {
		d := index / n * p.DynamoWritePerM
		out = append(out, fmt.Sprintf("secondary index writes are %.3f WRU per delivery ($%.3f): every index entry a delivery writes "+
			"costs as much as the record", index/n, d))
		saved += d
	}
	if u.SweepWriteUnits > 0 {
		d := u.SweepWriteUnits / n * p.DynamoWritePerM
		out = append(out, fmt.Sprintf("the retention sweep deletes each delivery with a paid write (%.2f WRU per delivery, $%.3f): "+
			"this run swept with no grace, as if TTL deleted nothing; deployed (CLEANUP_GRACE_DAYS=2) TTL deletes them for free "+
			"first (--sweep-grace 2)", u.SweepWriteUnits/n, d))
		saved += d
	}
	if r.Events > 0 {
		// Each event triggers on its own: one subscriber query and one
		// SendMessageBatch of its jobs, however few.
		producerBatches := 0
		if r.Path.Ingest == ViaQueueBatch {
			producerBatches = r.ProducerSQS
		}
		sends := float64(r.Calls["SQS.SendMessageBatch"]-producerBatches) / n
		queries := float64(r.Calls["DynamoDB.Query"]) / n
		where := "a handler batch (10 events from the queue)"
		if u.APIRequests > 0 {
			where = "a batch trigger request (10 events)"
		}
		ideal := 0.1 // one SendMessageBatch (one Query) per 10 events of one type
		if sends > ideal*1.5 {
			d := (sends - ideal) * p.SQSPerM
			out = append(out, fmt.Sprintf("each event's jobs go out in their own SendMessageBatch (%.2f per delivery); sending the jobs of "+
				"%s together would save $%.3f", sends, where, d))
			saved += d
		}
		if queries > ideal*1.5 {
			d := (queries - ideal) * p.DynamoReadPerM
			out = append(out, fmt.Sprintf("the subscribers are queried once per event (%.2f Query per delivery); once per event type in "+
				"%s would save $%.3f", queries, where, d))
			saved += d
		}
	}
	if upd := float64(r.Calls["DynamoDB.UpdateItem"]) / n; upd > 0.15 && r.Path.Ingest != ViaAPIIdempotent {
		d := (upd - 0.1) * p.DynamoWritePerM
		out = append(out, fmt.Sprintf("statistics: one counter update per webhook and batch is %.2f UpdateItem per delivery here (a batch "+
			"holds one event's jobs for %d webhooks); counters accumulated per Lambda instance and flushed every few seconds "+
			"(a crash losing those seconds' counts) would save up to $%.3f", upd, r.Path.Subscribers, d))
		saved += d
	}
	if r.Path.Ingest == ViaAPIIdempotent {
		w := 2 * float64(u.APIRequests) / n
		out = append(out, fmt.Sprintf("the Idempotency-Key record is a PutItem (claim) and an UpdateItem (complete) per request: "+
			"%.2f writes per delivery, $%.3f; worth it for producers that retry, not for the rest", w, w*p.DynamoWritePerM))
	}
	// The attempter caches a webhook (and its opened credentials) for 15 s.
	windows := math.Ceil(r.Elapsed.Seconds() / 15)
	if dec := float64(r.Calls["KMS.Decrypt"]); dec > float64(r.Path.Subscribers)*windows {
		d := (dec - float64(r.Path.Subscribers)*windows) / n * (p.KMSPerM + p.DynamoReadPerM)
		out = append(out, fmt.Sprintf("%.0f KMS Decrypts (and webhook reads) for %d webhooks in %.1f s: the 10 concurrent attempts of a batch "+
			"all miss the 15 s webhook cache when it is cold or stale; one fetch per webhook (singleflight) would save $%.3f here "+
			"(at a higher rate than this run's, the cache's share per delivery shrinks anyway)", dec, r.Path.Subscribers, r.Elapsed.Seconds(), d))
	}
	if r.Path.Ingest == ViaQueueSingle && r.ProducerSQS > 0 {
		d := (float64(r.ProducerSQS) - float64(r.Events)/10) / n * p.SQSPerM
		out = append(out, fmt.Sprintf("the producer's SendMessage per event: batching 10 per SendMessageBatch would save $%.3f", d))
		saved += d
	}
	b := Estimate(u, p, 0)
	if saved > 0 {
		out = append(out, fmt.Sprintf("with all of the above: ~$%.3f per million, logs included (target $%.2f)", b.WithLogs-saved, p.TargetPerM))
	}
	for _, it := range b.Items {
		switch {
		case it.Name == "CloudWatch Logs ingestion" && it.DollarsM > 0.05:
			out = append(out, fmt.Sprintf("logs: %.0f bytes per delivery ($%.3f), made up as above: at LOG_LEVEL=info the functions log "+
				"a line per API request and per handler batch (a success has no line of its own); Lambda's platform records are "+
				"the rest, fixed per invocation", it.PerUnit, it.DollarsM))
		case it.Name == "X-Ray traces" && it.DollarsM > 0.05:
			out = append(out, fmt.Sprintf("X-Ray (Tracing: Active): $%.3f at %.0f %% sampling, more at low volume; a sampling rule "+
				"with a smaller rate or tracing off saves it", it.DollarsM, 100*p.XRaySampled))
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

// CapacityNote says which DynamoDB figures are priced.
func CapacityNote(reference bool) string {
	base := "priced as computed from the item sizes by DynamoDB's rules (bench.Capacity), "
	if reference {
		return base + "because moto reports a constant per operation (1 per PutItem/Query/DeleteItem, 0.5 per GetItem, none for UpdateItem or transactions); its figures are shown as 'reported'."
	}
	return base + "because the embedded emulator reports no consumed capacity."
}
