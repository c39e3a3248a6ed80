package filter

import (
	"encoding/json"
	"testing"
)

// reportCPU adds cpu-ns/op, the CPU time the process spent per operation,
// to a benchmark's figures: on a shared machine ns/op (wall time) also
// counts the time spent waiting for a CPU. Call it as defer reportCPU(b)().
func reportCPU(b *testing.B) func() {
	start := cpuTime()
	return func() {
		if used := cpuTime() - start; used > 0 && b.N > 0 {
			b.ReportMetric(float64(used.Nanoseconds())/float64(b.N), "cpu-ns/op")
		}
	}
}

// benchData is an order of about 1 KB, as an event's data.
const benchData = `{"id":"ord_01HZY8XK3M7Q","amount":150.25,"currency":"usd","status":"paid",` +
	`"customer":{"id":"cus_123456","email":"alice@example.com","tier":"premium",` +
	`"address":{"line1":"1 Main St","city":"Springfield","country":"US","postal_code":"12345"}},` +
	`"items":[{"sku":"sku-1","qty":2,"price":50.10},{"sku":"sku-2","qty":1,"price":50.05}],` +
	`"tags":["urgent","vip","web"],"created_at":"2025-01-15T10:20:30Z",` +
	`"notes":"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat.",` +
	`"shipping":{"method":"express","cost":9.99,"carrier":"ups","tracking":null},"discounts":[],` +
	`"refunded":false,"livemode":true,"version":3,` +
	`"description":"Order for the spring collection with many items and a long description to fill the payload up to about one kilobyte in size",` +
	`"payment":{"method":"card","brand":"visa","last4":"4242","exp_month":12,"exp_year":2030},"channel":"online-store"}`

const benchMeta = `{"source":"api","region":"eu-west-1","attempt":1}`

// benchFilter has ten clauses, all true for the event above, so none is
// skipped by short-circuiting.
const benchFilter = `{
	"event": {"$in": ["order.created", "order.paid"]},
	"data": {
		"amount": {"$gte": 100, "$lt": 10000},
		"currency": {"$in": ["usd", "eur"]},
		"customer": {
			"tier": "premium",
			"email": {"$endsWith": "@example.com"},
			"address": {"country": {"$neq": "RU"}}
		},
		"tags": {"$contains": "vip"},
		"items": {"$contains": {"sku": {"$startsWith": "sku-"}}}
	},
	"metadata": {"source": {"$exists": true}}
}`

// BenchmarkMatch10Clauses measures a 10-clause filter on a 1 KB payload:
// "decoded" is one more filter on an event already decoded (the cost of each
// further subscriber), "decode+match" is one event decoded and matched (the
// cost of the first).
func BenchmarkMatch10Clauses(b *testing.B) {
	f, err := Parse(json.RawMessage(benchFilter))
	if err != nil {
		b.Fatal(err)
	}
	data, metadata := json.RawMessage(benchData), json.RawMessage(benchMeta)
	if len(data) != 1024 {
		b.Fatalf("payload is %d bytes, want 1 KiB", len(data))
	}
	d, err := NewDocument("order.paid", data, metadata)
	if err != nil {
		b.Fatal(err)
	}
	if !f.MatchDocument(d) {
		b.Fatal("the filter does not match its event")
	}
	b.Run("decoded", func(b *testing.B) {
		b.ReportAllocs()
		defer reportCPU(b)()
		for b.Loop() {
			if !f.MatchDocument(d) {
				b.Fatal("no match")
			}
		}
	})
	b.Run("decode+match", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		defer reportCPU(b)()
		for b.Loop() {
			ok, err := f.Match("order.paid", data, metadata)
			if err != nil || !ok {
				b.Fatal("no match", err)
			}
		}
	})
}

func BenchmarkParse(b *testing.B) {
	raw := json.RawMessage(benchFilter)
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		if _, err := Parse(raw); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecode compares decoding the payload into a Document with
// encoding/json's decoding into any, which is what choosing fastjson saves.
func BenchmarkDecode(b *testing.B) {
	data, metadata := json.RawMessage(benchData), json.RawMessage(benchMeta)
	b.Run("Document", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		var d Document
		defer reportCPU(b)()
		for b.Loop() {
			if err := d.Reset("order.paid", data, metadata); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		defer reportCPU(b)()
		for b.Loop() {
			var v struct{ Data, Metadata any }
			if err := json.Unmarshal(data, &v.Data); err != nil {
				b.Fatal(err)
			}
			if err := json.Unmarshal(metadata, &v.Metadata); err != nil {
				b.Fatal(err)
			}
		}
	})
}
