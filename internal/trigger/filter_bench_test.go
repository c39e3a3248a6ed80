package trigger

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/systemprompt-io/webhooks/internal/queue"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// discardJobs takes jobs and keeps nothing.
type discardJobs struct{}

func (discardJobs) SendJobs(context.Context, []queue.Job, []time.Duration) error { return nil }

// benchOrder is an order of about 1 KB as an event's data.
const benchOrder = `{"id":"ord_01HZY8XK3M7Q","amount":150.25,"currency":"usd","status":"paid",` +
	`"customer":{"id":"cus_123456","email":"alice@example.com","tier":"premium",` +
	`"address":{"line1":"1 Main St","city":"Springfield","country":"US","postal_code":"12345"}},` +
	`"items":[{"sku":"sku-1","qty":2,"price":50.10},{"sku":"sku-2","qty":1,"price":50.05}],` +
	`"tags":["urgent","vip","web"],"created_at":"2025-01-15T10:20:30Z",` +
	`"notes":"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat.",` +
	`"shipping":{"method":"express","cost":9.99,"carrier":"ups","tracking":null},"discounts":[],` +
	`"refunded":false,"livemode":true,"version":3,` +
	`"description":"Order for the spring collection with many items and a long description to fill the payload up to about one kilobyte in size",` +
	`"payment":{"method":"card","brand":"visa","last4":"4242","exp_month":12,"exp_year":2030},"channel":"online-store"}`

// benchTenClauses has ten clauses, all true for benchOrder, in canonical
// form as the store holds it.
const benchTenClauses = `{"data":{"amount":{"$gte":100,"$lt":10000},"currency":{"$in":["usd","eur"]},` +
	`"customer":{"address":{"country":{"$neq":"RU"}},"email":{"$endsWith":"@example.com"},"tier":"premium"},` +
	`"items":{"$contains":{"sku":{"$startsWith":"sku-"}}},"tags":{"$contains":"vip"}},` +
	`"event":{"$in":["custom","agent.started"]},"metadata":{"source":{"$exists":true}}}`

// BenchmarkTriggerFilters is the trigger's own cost per event (validation,
// ids, jobs; the subscription query and SQS are fakes) for 10 subscribers
// without filters, and with the 10-clause filter on each: the difference is
// what filters add per event (one decode, ten matches, ten cache lookups).
func BenchmarkTriggerFilters(b *testing.B) {
	subs := make([]string, 10)
	for i := range subs {
		subs[i] = webhook.NewID(webhook.WebhookIDPrefix)
	}
	req := webhook.TriggerRequest{Event: "custom", Data: json.RawMessage(benchOrder), Metadata: json.RawMessage(`{"source":"api"}`)}
	for _, bc := range []struct {
		name   string
		filter string
	}{{"no-filters", ""}, {"10-clause-filters", benchTenClauses}} {
		b.Run(bc.name, func(b *testing.B) {
			st := &fakeStore{subs: map[string][]string{"custom": subs}, filters: map[string]string{}}
			for _, id := range subs {
				if bc.filter != "" {
					st.filters[id] = bc.filter
				}
			}
			s := New(st, discardJobs{}, st, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
			res, err := s.Trigger(context.Background(), req)
			if err != nil || res.Deliveries != 10 {
				b.Fatalf("%v, %d deliveries", err, res.Deliveries)
			}
			b.ReportAllocs()
			b.SetBytes(int64(len(benchOrder)))
			for b.Loop() {
				if _, err := s.Trigger(context.Background(), req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
