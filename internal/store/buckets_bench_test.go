package store

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/guregu/dynamo/v2"

	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// BenchmarkBucketOf reads 7 days of hour items (a GET stats?window=7d).
func BenchmarkBucketOf(b *testing.B) {
	h0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	items := make([]dynamo.Item, webhook.StatsHours)
	for i := range items {
		h := h0.Add(time.Duration(i) * time.Hour)
		fields := map[string]int64{bucketHour: hourNumber(h), bucketSucceeded: 1234, bucketFailed: 56, bucketRetrying: 78}
		for _, ms := range []int64{20, 50, 100, 400, 2000} {
			fields[latencyMember(webhook.LatencyBucket(ms))] = 321
		}
		item := dynamo.Item{AttrPK: &types.AttributeValueMemberS{Value: "wh#x"}, AttrSK: &types.AttributeValueMemberS{Value: hourSK(hourNumber(h))}}
		for k, v := range fields {
			av, err := dynamo.Marshal(v)
			if err != nil {
				b.Fatal(err)
			}
			item[k] = av
		}
		items[i] = item
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, it := range items {
			if _, ok, err := bucketOf(it, ""); !ok || err != nil {
				b.Fatal(ok, err)
			}
		}
	}
}
