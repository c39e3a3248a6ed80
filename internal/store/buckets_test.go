package store

import (
	"context"
	"strconv"
	"sync"
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

// clockAt is a store option fixing the clock at t (which hours have
// expired is the clock's to say).
func clockAt(t time.Time) Option { return WithClock(func() time.Time { return t }) }

func TestAddStatsBuckets(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store, client *dynamodb.Client) {
		ctx := context.Background()
		h0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
		rc, ops := recordingClient(client)
		s = New(rc, s.tables, clockAt(h0.Add(3*time.Hour)))
		wh := webhook.NewID(webhook.WebhookIDPrefix)

		// One request per stats update within an hour: the first resets its
		// slot, the rest add to it.
		require.NoError(t, s.AddStats(ctx, wh, hourDelta(h0.Add(time.Minute), 100, webhook.DeliverySucceeded)))
		require.NoError(t, s.AddStats(ctx, wh, hourDelta(h0.Add(2*time.Minute), 100, webhook.DeliveryRetrying)))
		require.NoError(t, s.AddStats(ctx, wh, hourDelta(h0.Add(3*time.Minute), 3000, webhook.DeliveryFailed)))
		assert.Equal(t, []string{"UpdateItem", "UpdateItem", "UpdateItem"}, ops.operations())

		// The next hour: one reset, and the hours it found put, in one batch.
		ops.reset()
		require.NoError(t, s.AddStats(ctx, wh, hourDelta(h0.Add(time.Hour), 10, webhook.DeliverySucceeded)))
		assert.Equal(t, []string{"UpdateItem", "BatchWriteItem"}, ops.operations())
		ops.reset()
		require.NoError(t, s.AddStats(ctx, wh, hourDelta(h0.Add(time.Hour+time.Minute), 10, webhook.DeliveryRetrying)))
		assert.Equal(t, []string{"UpdateItem"}, ops.operations())

		// Another container (a second Store) that moved to the next hour
		// first costs this one a failed request, once; only the winner puts.
		other := New(rc, s.tables, clockAt(h0.Add(3*time.Hour)))
		ops.reset()
		require.NoError(t, other.AddStats(ctx, wh, hourDelta(h0.Add(2*time.Hour), 10, webhook.DeliverySucceeded)))
		assert.Equal(t, []string{"UpdateItem", "BatchWriteItem"}, ops.operations())
		ops.reset()
		require.NoError(t, s.AddStats(ctx, wh, hourDelta(h0.Add(2*time.Hour+time.Minute), 10, webhook.DeliveryRetrying)))
		require.NoError(t, s.AddStats(ctx, wh, hourDelta(h0.Add(2*time.Hour+2*time.Minute), 10, webhook.DeliveryRetrying)))
		assert.Equal(t, []string{"UpdateItem", "UpdateItem", "UpdateItem"}, ops.operations())

		// A batch one hour late still lands in its hour's bucket; two hours
		// late only in the counters (one request for a store that knows,
		// the forms tried in turn for one that does not).
		ops.reset()
		require.NoError(t, s.AddStats(ctx, wh, hourDelta(h0.Add(time.Hour+5*time.Minute), 10, webhook.DeliverySucceeded)))
		require.NoError(t, s.AddStats(ctx, wh, hourDelta(h0.Add(4*time.Minute), 20, webhook.DeliverySucceeded)))
		assert.Equal(t, []string{"UpdateItem", "UpdateItem"}, ops.operations())
		fresh := New(rc, s.tables)
		require.NoError(t, fresh.AddStats(ctx, wh, hourDelta(h0.Add(5*time.Minute), 20, webhook.DeliverySucceeded)))

		st, err := s.GetStats(ctx, wh)
		require.NoError(t, err)
		assert.Equal(t, int64(6), st.Successful)
		assert.Equal(t, int64(1), st.Failed)
		assert.Equal(t, int64(11), st.Attempts)
		require.Len(t, st.Hours, 2, "the stats item holds the last two hours")
		assert.Equal(t, h0.Add(time.Hour), st.Hours[0].Start)
		assert.Equal(t, h0.Add(2*time.Hour), st.Hours[1].Start)

		ops.reset()
		st, err = s.GetStatsSince(ctx, wh, h0)
		require.NoError(t, err)
		assert.Equal(t, []string{"GetItem", "Query"}, ops.operations())
		require.Len(t, st.Hours, 3)
		// Hour 1 was put before its late batch: the stats item's copy wins.
		for i, want := range [][3]int64{{1, 1, 1}, {2, 0, 1}, {1, 0, 2}} {
			h := st.Hours[i]
			assert.Equal(t, h0.Add(time.Duration(i)*time.Hour), h.Start)
			assert.Equal(t, want, [3]int64{h.Succeeded, h.Failed, h.Retrying}, "hour %d", i)
		}
		h := st.Hours[0]
		p50, ok := h.Percentile(0.5)
		require.True(t, ok)
		assert.Equal(t, int64(128), p50) // 100 ms is in the bucket up to 2^7
		p99, _ := h.Percentile(0.99)
		assert.Equal(t, int64(3000), min(p99, 3000)) // 3000 <= bound < 3000*√2
		assert.Less(t, p99, int64(4243))
		st, err = s.GetStatsSince(ctx, wh, h0.Add(time.Hour))
		require.NoError(t, err)
		assert.Len(t, st.Hours, 2, "hours before since are not read")

		// A put hour's item expires a day after the 7 days served.
		item := getItem(t, client, s.tables, webhookPK(wh), hourSK(hourNumber(h0)))
		exp := item[TTLAttribute].(*types.AttributeValueMemberN).Value
		assert.Equal(t, strconv.FormatInt(h0.Add(8*24*time.Hour).Unix(), 10), exp)

		// A delta without an hour (nothing for the buckets) is one update of
		// the counters, whatever the store remembers.
		ops.reset()
		require.NoError(t, New(rc, s.tables).AddStats(ctx, wh, webhook.StatsDelta{Attempts: 1}))
		assert.Equal(t, []string{"UpdateItem"}, ops.operations())
	})
}

// TestRolloverCrash: a container that dies between an hour's reset and its
// puts loses no hour (the next hour's reset puts what it missed); two such
// crashes in a row lose one hour.
func TestRolloverCrash(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store, client *dynamodb.Client) {
		ctx := context.Background()
		h0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
		clock := clockAt(h0.Add(6 * time.Hour))
		ok, crashing := New(client, s.tables, clock), New(failingClient(client, "BatchWriteItem"), s.tables, clock)
		for _, tc := range []struct {
			name  string
			crash map[int]bool
			lost  int // the hour lost, -1 for none
		}{
			{"one crash", map[int]bool{2: true}, -1},
			// Hour 1 is put twice, as it stands at hour 2's reset and final
			// at hour 3's: both crashed.
			{"two in a row", map[int]bool{2: true, 3: true}, 1},
		} {
			t.Run(tc.name, func(t *testing.T) {
				wh := webhook.NewID(webhook.WebhookIDPrefix)
				for i := range 6 {
					d := hourDelta(h0.Add(time.Duration(i)*time.Hour), 50, webhook.DeliverySucceeded)
					if tc.crash[i] {
						require.Error(t, crashing.AddStats(ctx, wh, d), "reset done, puts lost")
					} else {
						require.NoError(t, ok.AddStats(ctx, wh, d))
					}
				}
				st, err := ok.GetStatsSince(ctx, wh, h0)
				require.NoError(t, err)
				assert.Equal(t, int64(6), st.Successful, "the counters are in the reset itself")
				var got, want []time.Time
				for _, h := range st.Hours {
					got = append(got, h.Start)
					assert.Equal(t, int64(1), h.Succeeded, "%s", h.Start)
				}
				for i := range 6 {
					if i != tc.lost {
						want = append(want, h0.Add(time.Duration(i)*time.Hour))
					}
				}
				assert.Equal(t, want, got)
			})
		}
	})
}

// TestConcurrentRollover has two stores (two containers) roll the same
// hours over: every count lands once, the hours are put by the one whose
// reset won.
func TestConcurrentRollover(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store, client *dynamodb.Client) {
		ctx := context.Background()
		h0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
		const hours = 6
		at := func(i int) webhook.StatsDelta {
			return hourDelta(h0.Add(time.Duration(i)*time.Hour), 50, webhook.DeliverySucceeded)
		}
		check := func(t *testing.T, s *Store, wh string, perHour int) {
			t.Helper()
			st, err := s.GetStatsSince(ctx, wh, h0)
			require.NoError(t, err)
			assert.Equal(t, int64(hours*perHour), st.Successful)
			require.Len(t, st.Hours, hours)
			for i, h := range st.Hours {
				assert.Equal(t, h0.Add(time.Duration(i)*time.Hour), h.Start)
				assert.Equal(t, int64(perHour), h.Succeeded, "hour %d", i)
				assert.Equal(t, int64(perHour), h.Attempts(), "hour %d", i)
			}
		}
		clock := clockAt(h0.Add(hours * time.Hour))

		t.Run("interleaved", func(t *testing.T) {
			// Both know the previous hour; one resets first, the other's
			// reset then fails and it adds instead, putting nothing.
			rc, ops := recordingClient(client)
			a, b := New(rc, s.tables, clock), New(rc, s.tables, clock)
			wh := webhook.NewID(webhook.WebhookIDPrefix)
			for i := range hours {
				first, second := a, b
				if i%2 == 1 {
					first, second = b, a
				}
				ops.reset()
				require.NoError(t, first.AddStats(ctx, wh, at(i)))
				require.NoError(t, second.AddStats(ctx, wh, at(i)))
				require.NoError(t, first.AddStats(ctx, wh, at(i)))
				require.NoError(t, second.AddStats(ctx, wh, at(i)))
				want := []string{"UpdateItem", "UpdateItem", "UpdateItem", "UpdateItem", "UpdateItem"} // second's failed reset
				if i > 0 {
					want = append([]string{"UpdateItem", "BatchWriteItem"}, want[1:]...)
				}
				assert.Equal(t, want, ops.operations(), "hour %d", i)
			}
			check(t, a, wh, 4)
		})

		t.Run("parallel", func(t *testing.T) {
			rc, ops := recordingClient(client)
			stores := []*Store{New(rc, s.tables, clock), New(rc, s.tables, clock)}
			wh := webhook.NewID(webhook.WebhookIDPrefix)
			for i := range hours {
				var wg sync.WaitGroup
				for _, st := range stores {
					for range 2 {
						wg.Go(func() {
							assert.NoError(t, st.AddStats(ctx, wh, at(i)))
						})
					}
				}
				wg.Wait()
			}
			assert.Equal(t, hours-1, countOps(ops.operations(), "BatchWriteItem"), "one put per new hour")
			check(t, stores[0], wh, 4)
		})
	})
}

// TestStatsItemSize writes a week of hours as a webhook busy every hour
// would, with responses spread over five latency buckets and its health
// recorded, and measures the item DynamoDB bills each stats and health
// write for (docs/cost.md): it must stay one WRU.
func TestStatsItemSize(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store, client *dynamodb.Client) {
		ctx := context.Background()
		wh := webhook.NewID(webhook.WebhookIDPrefix)
		h0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
		s = New(client, s.tables, clockAt(h0.Add(webhook.MaxStatsSpan)))
		for i := range webhook.StatsHours {
			d := hourDelta(h0.Add(time.Duration(i)*time.Hour), 100, webhook.DeliverySucceeded)
			d.LastSuccessAt, d.LastFailureAt = d.LastDeliveryAt, d.LastDeliveryAt
			d.Hour.Succeeded, d.Hour.Failed, d.Hour.Retrying = 1234, 56, 78
			for _, ms := range []int64{20, 50, 100, 400, 2000} {
				d.Hour.Latency[webhook.LatencyBucket(ms)] = 321
			}
			require.NoError(t, s.AddStats(ctx, wh, d))
		}
		at := h0.Add(webhook.MaxStatsSpan)
		_, err := s.RecordFailure(ctx, wh, at)
		require.NoError(t, err)
		_, _, err = s.OpenCircuit(ctx, wh, at, 1, time.Minute)
		require.NoError(t, err)

		size := itemSize(getItem(t, client, s.tables, webhookPK(wh), skStats))
		t.Logf("stats item (counters, health, two hours): %d bytes (%d WRU per write)", size, (size+1023)/1024)
		assert.Less(t, size, 1024)
		hour := itemSize(getItem(t, client, s.tables, webhookPK(wh), hourSK(hourNumber(h0))))
		t.Logf("a finished hour's item: %d bytes; 7 days of them %d bytes", hour, hour*(webhook.StatsHours-1))
		assert.Less(t, hour, 1024)

		st, err := s.GetStatsSince(ctx, wh, h0)
		require.NoError(t, err)
		assert.Len(t, st.Hours, webhook.StatsHours)
	})
}

func TestDeleteWebhookRemovesHours(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store, client *dynamodb.Client) {
		ctx := context.Background()
		w, keep := newWebhook(evA), newWebhook(evA)
		require.NoError(t, s.CreateWebhook(ctx, w))
		require.NoError(t, s.CreateWebhook(ctx, keep))
		h0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
		s = New(client, s.tables, clockAt(h0.Add(30*time.Hour)))
		for i := range 30 { // more than one batch of deletes (25)
			require.NoError(t, s.AddStats(ctx, w.ID, hourDelta(h0.Add(time.Duration(i)*time.Hour), 5, webhook.DeliverySucceeded)))
		}
		require.NoError(t, s.AddStats(ctx, keep.ID, hourDelta(h0, 5, webhook.DeliverySucceeded)))
		require.NoError(t, s.AddStats(ctx, keep.ID, hourDelta(h0.Add(time.Hour), 5, webhook.DeliverySucceeded)))

		require.NoError(t, s.DeleteWebhook(ctx, w.ID))

		out, err := client.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(s.tables.Webhooks)})
		require.NoError(t, err)
		for _, item := range out.Items {
			assert.NotEqual(t, webhookPK(w.ID), item[AttrPK].(*types.AttributeValueMemberS).Value, "left over: %v", item[AttrSK])
		}
		st, err := s.GetStatsSince(ctx, keep.ID, h0)
		require.NoError(t, err)
		assert.Len(t, st.Hours, 2, "another webhook's hours stay")
	})
}

func getItem(t *testing.T, client *dynamodb.Client, tables Tables, pk, sk string) map[string]types.AttributeValue {
	t.Helper()
	out, err := client.GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName:      aws.String(tables.Webhooks),
		Key:            map[string]types.AttributeValue{AttrPK: &types.AttributeValueMemberS{Value: pk}, AttrSK: &types.AttributeValueMemberS{Value: sk}},
		ConsistentRead: aws.Bool(true),
	})
	require.NoError(t, err)
	require.NotEmpty(t, out.Item, "%s / %s", pk, sk)
	return out.Item
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
