package store

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/guregu/dynamo/v2"

	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// BenchmarkHoursOf reads a stats item with every slot full (a GET stats).
func BenchmarkHoursOf(b *testing.B) {
	item := dynamo.Item{}
	h0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for i := range webhook.StatsHours {
		h := h0.Add(time.Duration(i) * time.Hour)
		p := slotPrefix(webhook.HourSlot(h))
		fields := map[string]int64{bucketHour: hourNumber(h), bucketSucceeded: 1234, bucketFailed: 56, bucketRetrying: 78}
		for _, ms := range []int64{20, 50, 100, 400, 2000} {
			fields[latencyMember(webhook.LatencyBucket(ms))] = 321
		}
		for k, v := range fields {
			av, err := dynamo.Marshal(v)
			if err != nil {
				b.Fatal(err)
			}
			item[p+k] = av
		}
	}
	item["pk"] = &types.AttributeValueMemberS{Value: "wh#x"}
	b.ReportAllocs()
	for b.Loop() {
		hours, err := hoursOf(item)
		if err != nil || len(hours) != webhook.StatsHours {
			b.Fatal(len(hours), err)
		}
	}
}
