// Package cost is the service's cost model: it runs first-attempt deliveries
// through the real handlers on stand-ins, counts what AWS would bill for
// them (Run), and prices the counts at list prices (Estimate). cmd/cost
// prints the result; docs/cost.md discusses it.
package cost

import (
	"math"
	"time"
)

// Prices are AWS list prices in dollars (us-east-1).
type Prices struct {
	APIGatewayPerM    float64 // HTTP API, per million requests (first 300 M)
	LambdaRequestPerM float64 // per million invocations
	LambdaGBSecond    float64 // arm64, per GB-second
	SQSPerM           float64 // standard queue, per million requests (64 KB chunks)
	DynamoWritePerM   float64 // on-demand, per million write request units
	DynamoReadPerM    float64 // on-demand, per million read request units
	KMSPerM           float64 // per million API requests
	LogsPerGB         float64 // CloudWatch Logs ingestion (standard class), per GB
	XRayPerM          float64 // X-Ray, per million traces recorded
	// XRaySampled is the share of invocations traced under the default
	// sampling rule at steady load (1 per second, then 5 %).
	XRaySampled float64
	// TargetPerM is what EventBridge API destinations charges for a million
	// deliveries: $1.00/M events + $0.20/M invocations.
	TargetPerM float64
}

// ListPrices are the us-east-1 list prices the model uses.
var ListPrices = Prices{
	APIGatewayPerM:    1.00,
	LambdaRequestPerM: 0.20,
	LambdaGBSecond:    0.0000133334,
	SQSPerM:           0.40,
	DynamoWritePerM:   0.625,
	DynamoReadPerM:    0.125,
	KMSPerM:           3.00, // $0.03 per 10,000
	LogsPerGB:         0.50,
	XRayPerM:          5.00,
	XRaySampled:       0.05,
	TargetPerM:        1.20,
}

// Function is the use of one Lambda function (or one of its roles).
type Function struct {
	Name        string
	MemoryMB    int
	Invocations int // billed per request; 0 for a scheduled function whose runs do not grow with the volume
	// BilledMS sums each invocation's duration rounded up to the
	// millisecond, as Lambda bills it.
	BilledMS float64
	// Sends says its invocations POST to subscribers: an endpoint's latency
	// adds to each of them (the 10 attempts of a batch run concurrently).
	Sends bool
	// LogBytes is what CloudWatch Logs ingests of the function's own log
	// lines (26 bytes per line included); LogLines counts them.
	LogBytes int64
	LogLines int64
}

// Usage is what one way of delivering used for Deliveries first-attempt
// deliveries.
type Usage struct {
	Deliveries  int
	APIRequests int // through API Gateway
	Functions   []Function
	SQSRequests int     // billed: 64 KB chunks, at least one per call
	ReadUnits   float64 // DynamoDB read request units
	WriteUnits  float64 // DynamoDB write request units
	// The retention sweep's share (cleanup, once the deliveries expire):
	// its deletes are paid writes, unlike TTL's.
	SweepReadUnits  float64
	SweepWriteUnits float64
	KMSRequests     int
	// LogBytes is the whole CloudWatch Logs ingestion, 26 bytes per event
	// included: the functions' own lines (Function.LogBytes), Lambda's
	// platform records and API Gateway's access log.
	LogBytes int64
}

// PlatformLogBytes is the assumed ingestion of Lambda's platform records:
// PlatformLogBytes per invocation.
func (u Usage) PlatformLogBytes() int64 {
	return int64(u.Invocations()) * (PlatformLogBytes + LogEventOverhead)
}

// AccessLogBytes is the assumed ingestion of API Gateway's access log: a
// line per request.
func (u Usage) AccessLogBytes() int64 {
	return int64(u.APIRequests) * (AccessLogBytes + LogEventOverhead)
}

// Invocations sums the functions' invocations.
func (u Usage) Invocations() int {
	n := 0
	for _, f := range u.Functions {
		n += f.Invocations
	}
	return n
}

// BilledMS returns the billed milliseconds of one invocation that took d.
func BilledMS(d time.Duration) float64 {
	return math.Ceil(float64(d) / float64(time.Millisecond))
}

// LineItem is one line of a bill.
type LineItem struct {
	Name     string
	PerUnit  float64 // quantity per delivery
	Unit     string
	DollarsM float64 // dollars per million deliveries
	// Core items are the ones EventBridge API destinations' price covers;
	// the others (logs, traces) are observability this deployment adds.
	Core bool
	// Optional items (X-Ray traces) are left out of the priced figure:
	// tracing can be turned off. Logs cannot, so they are priced.
	Optional bool
}

// Bill prices a Usage per million deliveries.
type Bill struct {
	Items []LineItem
	Core  float64 // $/M of the core items
	// WithLogs is the priced figure: the core items and CloudWatch Logs.
	WithLogs float64
	Total    float64 // $/M of every item, X-Ray included
}

// Estimate prices u per million deliveries at p. latency is an endpoint
// latency added to every invocation of a function that Sends (0: as
// measured).
func Estimate(u Usage, p Prices, latency time.Duration) Bill {
	var b Bill
	if u.Deliveries <= 0 {
		return b
	}
	per := func(x float64) float64 { return x / float64(u.Deliveries) }
	add := func(name string, qty float64, unit string, perM float64, core bool) {
		b.Items = append(b.Items, LineItem{Name: name, PerUnit: qty, Unit: unit, DollarsM: qty * perM, Core: core})
	}
	if u.APIRequests > 0 {
		add("API Gateway requests", per(float64(u.APIRequests)), "req", p.APIGatewayPerM, true)
	}
	add("Lambda requests", per(float64(u.Invocations())), "inv", p.LambdaRequestPerM, true)
	for _, f := range u.Functions {
		ms := f.BilledMS
		if f.Sends {
			ms += float64(f.Invocations) * BilledMS(latency)
		}
		gbs := float64(f.MemoryMB) / 1024 * ms / 1000
		add("Lambda duration, "+f.Name, per(gbs), "GB-s", p.LambdaGBSecond*1e6, true)
	}
	add("SQS requests (64 KB chunks)", per(float64(u.SQSRequests)), "req", p.SQSPerM, true)
	add("DynamoDB write units", per(u.WriteUnits), "WRU", p.DynamoWritePerM, true)
	add("DynamoDB read units", per(u.ReadUnits), "RRU", p.DynamoReadPerM, true)
	if u.SweepWriteUnits > 0 || u.SweepReadUnits > 0 {
		add("DynamoDB write units, retention sweep", per(u.SweepWriteUnits), "WRU", p.DynamoWritePerM, true)
		add("DynamoDB read units, retention sweep", per(u.SweepReadUnits), "RRU", p.DynamoReadPerM, true)
	}
	add("KMS requests", per(float64(u.KMSRequests)), "req", p.KMSPerM, true)
	add("CloudWatch Logs ingestion", per(float64(u.LogBytes)), "B", p.LogsPerGB*1e6/(1<<30), false)
	add("X-Ray traces", per(float64(u.Invocations()))*p.XRaySampled, "trace", p.XRayPerM, false)
	b.Items[len(b.Items)-1].Optional = true
	for _, it := range b.Items {
		if it.Core {
			b.Core += it.DollarsM
		}
		if !it.Optional {
			b.WithLogs += it.DollarsM
		}
		b.Total += it.DollarsM
	}
	return b
}
