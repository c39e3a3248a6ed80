package httpapi

import (
	"net/url"
	"time"

	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// bucketJSON is one hour of GET /webhooks/{id}/stats?window=...: the
// percentiles are null in an hour without attempts.
type bucketJSON struct {
	Start     apiTime `json:"start"`
	Succeeded int64   `json:"succeeded"`
	Failed    int64   `json:"failed"`
	Retrying  int64   `json:"retrying"`
	Attempts  int64   `json:"attempts"`
	P50MS     *int64  `json:"p50_ms"`
	P90MS     *int64  `json:"p90_ms"`
	P99MS     *int64  `json:"p99_ms"`
}

func toBucketsJSON(series []webhook.HourStats) []bucketJSON {
	out := make([]bucketJSON, len(series))
	for i := range series {
		h := &series[i]
		b := bucketJSON{Start: apiTime(h.Start), Succeeded: h.Succeeded, Failed: h.Failed, Retrying: h.Retrying, Attempts: h.Attempts()}
		for _, p := range []struct {
			q  float64
			to **int64
		}{{0.5, &b.P50MS}, {0.9, &b.P90MS}, {0.99, &b.P99MS}} {
			if ms, ok := h.Percentile(p.q); ok {
				*p.to = &ms
			}
		}
		out[i] = b
	}
	return out
}

// statsQuery validates the stats query: nothing, or window (24h, 7d) and
// optionally bucket (1h). A window of 0 asks for no buckets.
func statsQuery(q url.Values) (time.Duration, error) {
	if err := queryParams(q, "window", "bucket"); err != nil {
		return 0, err
	}
	if !q.Has("window") && !q.Has("bucket") {
		return 0, nil
	}
	return webhook.ParseStatsWindow(q.Get("window"), q.Get("bucket"))
}
