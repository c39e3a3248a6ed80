package bench

import (
	"context"
	"net/http"
	"testing"
)

// BenchmarkTriggerBatch triggers 10 events (1 KB of data each, one
// subscriber) per op through the real API handler: as 10 POST /events, and
// as one POST /events/batch. Besides time it reports AWS calls and API
// requests per event: the batch makes one subscriber query and one
// SendMessageBatch for its 10 events, POST /events one of each per event.
func BenchmarkTriggerBatch(b *testing.B) {
	for _, be := range backends(b) {
		ctx := context.Background()
		s := newStack(b, be)
		if _, err := s.CreateWebhooks(ctx, 1, map[string]any{
			"name": "bench", "url": "http://127.0.0.1:9/hook", "events": []string{"agent.started"},
		}); err != nil {
			b.Fatal(err)
		}
		event := map[string]any{"event": "agent.started", "data": Payload(1024)}
		batch := map[string]any{"events": []any{event, event, event, event, event, event, event, event, event, event}}
		for _, c := range []struct {
			name string
			do   func() (int, error)
		}{
			{"events-x10", func() (int, error) {
				for range 10 {
					if code, err := s.Do(ctx, http.MethodPost, "/events", event, nil); err != nil || code != http.StatusAccepted {
						return 10, err
					}
				}
				return 10, nil
			}},
			{"batch-of-10", func() (int, error) {
				code, err := s.Do(ctx, http.MethodPost, "/events/batch", batch, nil)
				if code != http.StatusAccepted && err == nil {
					b.Fatalf("POST /events/batch: %d", code)
				}
				return 1, err
			}},
		} {
			b.Run(be.Name+"/"+c.name, func(b *testing.B) {
				s.Meters.Reset()
				requests := 0
				for b.Loop() {
					n, err := c.do()
					if err != nil {
						b.Fatal(err)
					}
					requests += n
				}
				events := float64(10 * b.N)
				b.ReportMetric(float64(s.Meters.DynamoDB.Total()+s.Meters.SQS.Total())/events, "aws-calls/event")
				b.ReportMetric(float64(requests)/events, "api-requests/event")
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/events, "ns/event")
			})
		}
	}
}
