package store

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// hourDelta is one attempt of ms milliseconds at t that ended as status says.
func hourDelta(t time.Time, ms int64, status webhook.DeliveryStatus) webhook.StatsDelta {
	d := webhook.StatsDelta{Attempts: 1, TotalResponseMS: ms, LastDeliveryAt: t}
	d.Hour.Start = t.Truncate(time.Hour)
	d.Hour.Latency[webhook.LatencyBucket(ms)] = 1
	switch status {
	case webhook.DeliverySucceeded:
		d.Succeeded, d.Hour.Succeeded = 1, 1
	case webhook.DeliveryFailed:
		d.Failed, d.Hour.Failed = 1, 1
	default:
		d.Hour.Retrying = 1
	}
	return d
}

func TestAddStatsBuckets(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store, client *dynamodb.Client) {
		ctx := context.Background()
		rc, ops := recordingClient(client)
		s = New(rc, s.tables)
		wh := webhook.NewID(webhook.WebhookIDPrefix)
		h0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

		// One request per stats update, as before buckets: the first of an
		// hour resets its slot, the rest add to it.
		require.NoError(t, s.AddStats(ctx, wh, hourDelta(h0.Add(time.Minute), 100, webhook.DeliverySucceeded)))
		require.NoError(t, s.AddStats(ctx, wh, hourDelta(h0.Add(2*time.Minute), 100, webhook.DeliveryRetrying)))
		require.NoError(t, s.AddStats(ctx, wh, hourDelta(h0.Add(3*time.Minute), 3000, webhook.DeliveryFailed)))
		assert.Equal(t, []string{"UpdateItem", "UpdateItem", "UpdateItem"}, ops.operations())
		// Another container (a second Store) that wrote the hour first costs
		// this one a failed request, once.
		other := New(rc, s.tables)
		require.NoError(t, other.AddStats(ctx, wh, hourDelta(h0.Add(time.Hour), 10, webhook.DeliverySucceeded)))
		ops.reset()
		require.NoError(t, s.AddStats(ctx, wh, hourDelta(h0.Add(time.Hour+time.Minute), 10, webhook.DeliveryRetrying)))
		require.NoError(t, s.AddStats(ctx, wh, hourDelta(h0.Add(time.Hour+2*time.Minute), 10, webhook.DeliveryRetrying)))
		assert.Equal(t, 3, countOps(ops.operations(), "UpdateItem"))
		// The same slot 7 days later replaces it.
		later := h0.Add(webhook.StatsHours * time.Hour)
		require.NoError(t, s.AddStats(ctx, wh, hourDelta(later.Add(time.Second), 20, webhook.DeliverySucceeded)))
		// A late write for the replaced hour changes only the totals.
		ops.reset()
		require.NoError(t, other.AddStats(ctx, wh, hourDelta(h0.Add(4*time.Minute), 20, webhook.DeliverySucceeded)))
		assert.Equal(t, 4, countOps(ops.operations(), "UpdateItem"))

		st, err := s.GetStats(ctx, wh)
		require.NoError(t, err)
		assert.Equal(t, int64(4), st.Successful)
		assert.Equal(t, int64(1), st.Failed)
		assert.Equal(t, int64(8), st.Attempts)
		require.Len(t, st.Hours, 2)
		assert.Equal(t, h0.Add(time.Hour), st.Hours[0].Start)
		assert.Equal(t, [3]int64{1, 0, 2}, [3]int64{st.Hours[0].Succeeded, st.Hours[0].Failed, st.Hours[0].Retrying})
		assert.Equal(t, later, st.Hours[1].Start)
		assert.Equal(t, int64(1), st.Hours[1].Succeeded)
		assert.Equal(t, int64(0), st.Hours[1].Failed)
		assert.Equal(t, int64(1), st.Hours[1].Attempts())

		// The bucket of h0 before it was replaced: two attempts of 100 ms, one
		// of 3 s, a success, a retry and a failure.
		wh2 := webhook.NewID(webhook.WebhookIDPrefix)
		for _, d := range []webhook.StatsDelta{
			hourDelta(h0, 100, webhook.DeliverySucceeded),
			hourDelta(h0, 100, webhook.DeliveryRetrying),
			hourDelta(h0, 3000, webhook.DeliveryFailed),
		} {
			require.NoError(t, s.AddStats(ctx, wh2, d))
		}
		st, err = s.GetStats(ctx, wh2)
		require.NoError(t, err)
		require.Len(t, st.Hours, 1)
		h := st.Hours[0]
		assert.Equal(t, [3]int64{1, 1, 1}, [3]int64{h.Succeeded, h.Failed, h.Retrying})
		p50, ok := h.Percentile(0.5)
		require.True(t, ok)
		assert.Equal(t, int64(128), p50) // 100 ms is in the bucket up to 2^7
		p99, _ := h.Percentile(0.99)
		assert.Equal(t, int64(3000), min(p99, 3000)) // 3000 <= bound < 3000*√2
		assert.Less(t, p99, int64(4243))
	})
}

// TestStatsItemSize fills every slot as a webhook busy every hour of a
// week would, with responses spread over five latency buckets, and measures
// the item DynamoDB bills each stats write for (docs/cost.md).
func TestStatsItemSize(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store, client *dynamodb.Client) {
		ctx := context.Background()
		wh := webhook.NewID(webhook.WebhookIDPrefix)
		h0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
		for i := range webhook.StatsHours {
			d := hourDelta(h0.Add(time.Duration(i)*time.Hour), 100, webhook.DeliverySucceeded)
			d.Hour.Succeeded, d.Hour.Failed, d.Hour.Retrying = 1234, 56, 78
			for _, ms := range []int64{20, 50, 100, 400, 2000} {
				d.Hour.Latency[webhook.LatencyBucket(ms)] = 321
			}
			require.NoError(t, s.AddStats(ctx, wh, d))
		}
		out, err := client.GetItem(ctx, &dynamodb.GetItemInput{
			TableName: aws.String(s.tables.Webhooks),
			Key:       map[string]types.AttributeValue{AttrPK: &types.AttributeValueMemberS{Value: webhookPK(wh)}, AttrSK: &types.AttributeValueMemberS{Value: skStats}},
		})
		require.NoError(t, err)
		size := itemSize(out.Item)
		t.Logf("stats item with %d full hourly buckets: %d bytes (%d WCU per write)", webhook.StatsHours, size, (size+1023)/1024)
		assert.Less(t, size, 14*1024) // bounded: every slot full
		st, err := s.GetStats(ctx, wh)
		require.NoError(t, err)
		assert.Len(t, st.Hours, webhook.StatsHours)
	})
}

func countOps(ops []string, op string) int {
	n := 0
	for _, o := range ops {
		if o == op {
			n++
		}
	}
	return n
}

// itemSize is an item's size as DynamoDB bills it: names and values, a
// number about one byte per two significant digits plus one, a map three
// bytes plus its members and one byte per member.
func itemSize(item map[string]types.AttributeValue) int {
	n := 0
	for k, v := range item {
		n += len(k) + avSize(v)
	}
	return n
}

func avSize(v types.AttributeValue) int {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return len(v.Value)
	case *types.AttributeValueMemberN:
		digits := 0
		for _, c := range v.Value {
			if c >= '0' && c <= '9' {
				digits++
			}
		}
		return (digits+1)/2 + 1
	case *types.AttributeValueMemberM:
		n := 3
		for k, m := range v.Value {
			n += len(k) + avSize(m) + 1
		}
		return n
	case *types.AttributeValueMemberB:
		return len(v.Value)
	default:
		return 1
	}
}
