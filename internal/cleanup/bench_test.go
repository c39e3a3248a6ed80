package cleanup

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/systemprompt-io/webhooks/internal/devtools/testenv"
)

// benchWebhooks are the 50 webhooks the benchmark's deliveries belong to.
var benchWebhooks = func() []string {
	out := make([]string, 50)
	for i := range out {
		out[i] = fmt.Sprintf("wh_0193a1b2c3d47e5f8a9b0c1d2e3f%04x", i)
	}
	return out
}()

// spread returns n deliveries of the 50 webhooks created evenly from from to to.
func spread(n int, from, to time.Time, seq0 int) []deliveryItem {
	out := make([]deliveryItem, n)
	step := to.Sub(from) / time.Duration(n)
	for i := range out {
		out[i] = newDelivery(benchWebhooks[i%len(benchWebhooks)], from.Add(time.Duration(i)*step), seq0+i, retention)
	}
	return out
}

// BenchmarkSweep deletes 1,000 expired deliveries (the five days before the
// cutoff) of 50 webhooks from tables that also keep 10,000 or 100,000 fresh
// ones (the 30 days after). What the sweep reads and writes depends on the
// webhooks and the expired deliveries only, so calls/op must be the same for
// both sizes, and on DynamoDB so would the time.
//
// Fresh deliveries are written once per backend and size; the expired ones
// are written again before each sweep, outside the timer.
func BenchmarkSweep(b *testing.B) {
	parent := b
	type key struct{ backend, size string }
	var (
		mu     sync.Mutex
		seeded = map[key]*env{}
	)
	expired := spread(1000, cutoff.Add(-5*day), cutoff.Add(-time.Minute), 0)
	for _, backend := range testenv.DynamoBackends(b) {
		for _, fresh := range []int{10_000, 100_000} {
			name := fmt.Sprintf("%s/fresh=%d/expired=%d", backend.Name, fresh, len(expired))
			k := key{backend.Name, name}
			b.Run(name, func(b *testing.B) {
				mu.Lock()
				e := seeded[k]
				if e == nil {
					// Seed once per size; b.Run calls this function again
					// for every b.N it tries.
					e = newEnv(parent, backend.Clients.DynamoDB) // tables live until the end
					putWebhooks(b, e, benchWebhooks...)
					t0 := time.Now()
					putAll(context.Background(), b, e.db, e.deliveries, spread(fresh, cutoff, now, len(expired)))
					b.Logf("seeded %d fresh deliveries in %s", fresh, time.Since(t0).Round(time.Millisecond))
					seeded[k] = e
				}
				mu.Unlock()
				s := e.sweeper(now)
				ctx := context.Background()
				calls, deleted := 0, 0
				b.ResetTimer()
				for range b.N {
					b.StopTimer()
					putAll(ctx, b, e.db, e.deliveries, expired)
					e.reset()
					b.StartTimer()
					res, err := s.Sweep(ctx, retention)
					b.StopTimer()
					if err != nil {
						b.Fatal(err)
					}
					if res.Deleted != len(expired) || !res.Complete {
						b.Fatalf("deleted %d of %d, complete %v", res.Deleted, len(expired), res.Complete)
					}
					calls += e.calls.Total()
					deleted += res.Deleted
				}
				b.ReportMetric(float64(calls)/float64(b.N), "calls/op")
				b.ReportMetric(float64(deleted)/float64(b.N), "deleted/op")
			})
		}
	}
}
