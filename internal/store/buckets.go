package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/guregu/dynamo/v2"

	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// The hourly buckets. The stats item holds only the current hour's bucket,
// beside the counters, as top-level attributes: "ht" the hour (hours since
// the epoch), "hs", "hf", "hr" the counts and "hl0" .. "hl30" the
// response-time buckets, only those counted. Top-level, so ADD works on them
// (ADD takes no nested path, and the embedded emulator has none). The
// counter update that already happens per webhook per batch adds to it: no
// extra write, and the item stays small (every write on it, the health's
// too, is billed per KB of the whole item: docs/cost.md).
//
// The first update of a new hour replaces the bucket in the same request and
// gets the item as it was (ReturnValues ALL_OLD); the finished hour is then
// put as its own item, wh#<id> / hour#<hour>, with the same attribute names
// and a TTL (expires_at) a day past the 7 days served. One PutItem per
// webhook and hour with traffic, never per delivery. Only the update whose
// reset won sees the finished hour, so it is written once; a crash between
// the reset and the put loses that hour's bucket (the counters are safe).

const (
	bucketHour      = "ht"
	bucketSucceeded = "hs"
	bucketFailed    = "hf"
	bucketRetrying  = "hr"

	skHourPrefix = "hour#"
	// hourTTL is how long a finished hour's item lives past its hour: the
	// longest window served plus a day of slack for TTL's own delay.
	hourTTL = webhook.MaxStatsSpan + 24*time.Hour
)

func latencyMember(i int) string { return "hl" + strconv.Itoa(i) }

func hourNumber(h time.Time) int64 { return h.Unix() / 3600 }

// hourSK is the sort key of hour's item: fixed width, so keys sort as hours.
func hourSK(hour int64) string { return fmt.Sprintf("%s%010d", skHourPrefix, hour) }

// bucketMembers are the members of a bucket other than its hour.
var bucketMembers = func() []string {
	m := []string{bucketSucceeded, bucketFailed, bucketRetrying}
	for i := range webhook.LatencyBuckets {
		m = append(m, latencyMember(i))
	}
	return m
}()

// bucketMode is how one stats update treats the current hour's bucket.
type bucketMode int

const (
	bucketAdd   bucketMode = iota // the item holds this hour: add to it
	bucketReset                   // the item holds no hour or an older one: replace it
	bucketSkip                    // the item holds a newer hour (a late batch): counters only
)

// curHours remembers, per webhook, the hour whose bucket this process last
// wrote, so an update is sent in the right form first: the first of a new
// hour resets the bucket, the rest add to it, one request each. Another
// container that wrote the hour first costs one failed request, once.
type curHours struct {
	mu sync.Mutex
	m  map[string]int64
}

// maxCurHours bounds the memory: past it the map starts over (a reset costs
// at most one more request per webhook).
const maxCurHours = 10000

// modes are the forms to try, in order, for hour of webhook id.
func (c *curHours) modes(id string, hour int64) []bucketMode {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch last, ok := c.m[id]; {
	case ok && last == hour:
		return []bucketMode{bucketAdd, bucketReset, bucketAdd, bucketSkip}
	case ok && last > hour:
		// The item's hour never goes back, so it is newer than this one.
		return []bucketMode{bucketSkip}
	default:
		return []bucketMode{bucketReset, bucketAdd, bucketReset, bucketSkip}
	}
}

func (c *curHours) wrote(id string, hour int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxCurHours {
		c.m = map[string]int64{}
	}
	if hour > c.m[id] {
		c.m[id] = hour
	}
}

// bucketFields are the bucket's counts by member name, zeros left out.
func bucketFields(h *webhook.HourStats) map[string]int64 {
	m := map[string]int64{}
	for name, n := range map[string]int64{bucketSucceeded: h.Succeeded, bucketFailed: h.Failed, bucketRetrying: h.Retrying} {
		if n != 0 {
			m[name] = n
		}
	}
	for i, n := range h.Latency {
		if n != 0 {
			m[latencyMember(i)] = n
		}
	}
	return m
}

// withBucket adds h to u as mode says, with the condition that makes the
// mode right; a failed condition means another mode is.
func withBucket(u *dynamo.Update, h *webhook.HourStats, mode bucketMode) *dynamo.Update {
	if h.Start.IsZero() || mode == bucketSkip {
		return u
	}
	hour := hourNumber(h.Start)
	fields := bucketFields(h)
	if mode == bucketAdd {
		for name, n := range fields {
			u = u.Add(name, n)
		}
		return u.If("$ = ?", bucketHour, hour)
	}
	u = u.Set(bucketHour, hour)
	for _, name := range bucketMembers {
		if n, ok := fields[name]; ok {
			u = u.Set(name, n)
		} else {
			u = u.Remove(name) // the older hour's
		}
	}
	return u.If("attribute_not_exists($) OR $ < ?", bucketHour, bucketHour, hour)
}

// finishedHour is the item of the hour a reset replaced, from the stats item
// as it was before (nil when it held no hour): its bucket attributes as they
// were, under the hour's key, expiring hourTTL after the hour.
func finishedHour(id string, old dynamo.Item) (dynamo.Item, error) {
	av, ok := old[bucketHour]
	if !ok {
		return nil, nil
	}
	hour, err := numberOf(bucketHour, av)
	if err != nil {
		return nil, err
	}
	item := dynamo.Item{
		AttrPK:       &types.AttributeValueMemberS{Value: webhookPK(id)},
		AttrSK:       &types.AttributeValueMemberS{Value: hourSK(hour)},
		bucketHour:   av,
		TTLAttribute: &types.AttributeValueMemberN{Value: strconv.FormatInt(time.Unix(hour*3600, 0).Add(hourTTL).Unix(), 10)},
	}
	for _, name := range bucketMembers {
		if v, ok := old[name]; ok {
			item[name] = v
		}
	}
	return item, nil
}

// putFinishedHour writes the hour a reset replaced as its own item.
func (s *Store) putFinishedHour(ctx context.Context, id string, old dynamo.Item) error {
	item, err := finishedHour(id, old)
	if err != nil || item == nil {
		return err
	}
	return s.webhooks.Put(item).Run(ctx)
}

// bucketOf reads the bucket of a stats or hour item; ok is false when it
// holds none.
func bucketOf(item dynamo.Item) (h webhook.HourStats, ok bool, err error) {
	av, ok := item[bucketHour]
	if !ok {
		return h, false, nil
	}
	hour, err := numberOf(bucketHour, av)
	if err != nil {
		return h, false, err
	}
	h.Start = time.Unix(hour*3600, 0).UTC()
	counts := map[string]*int64{bucketSucceeded: &h.Succeeded, bucketFailed: &h.Failed, bucketRetrying: &h.Retrying}
	for i := range h.Latency {
		counts[latencyMember(i)] = &h.Latency[i]
	}
	for name, p := range counts {
		if av, held := item[name]; held {
			if *p, err = numberOf(name, av); err != nil {
				return h, false, err
			}
		}
	}
	return h, true, nil
}

func numberOf(name string, av types.AttributeValue) (int64, error) {
	num, ok := av.(*types.AttributeValueMemberN)
	if !ok {
		return 0, fmt.Errorf("stats bucket %s is not a number", name)
	}
	n, err := strconv.ParseInt(num.Value, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("stats bucket %s: %w", name, err)
	}
	return n, nil
}

// finishedHours reads the hour items of webhook id from hour since on, oldest
// first (one eventually consistent Query: the hours are finished, so a
// second's lag only misses an hour just rolled over).
func (s *Store) finishedHours(ctx context.Context, id string, since time.Time) ([]webhook.HourStats, error) {
	var items []dynamo.Item
	err := s.webhooks.Get(AttrPK, webhookPK(id)).
		Range(AttrSK, dynamo.Between, hourSK(hourNumber(since)), hourSK(9999999999)).
		All(ctx, &items)
	if err != nil {
		return nil, err
	}
	out := make([]webhook.HourStats, 0, len(items))
	for _, it := range items {
		h, ok, err := bucketOf(it)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, h)
		}
	}
	return out, nil
}

// deleteHours removes every hour item of webhook id (a Query of their keys,
// then batches of 25 deletes).
func (s *Store) deleteHours(ctx context.Context, id string) error {
	var keys []struct {
		PK string `dynamo:"pk"`
		SK string `dynamo:"sk"`
	}
	err := s.webhooks.Get(AttrPK, webhookPK(id)).
		Range(AttrSK, dynamo.BeginsWith, skHourPrefix).
		Project(AttrPK, AttrSK).
		Consistent(true).
		All(ctx, &keys)
	if err != nil || len(keys) == 0 {
		return err
	}
	ks := make([]dynamo.Keyed, len(keys))
	for i, k := range keys {
		ks[i] = dynamo.Keys{k.PK, k.SK}
	}
	_, err = s.webhooks.Batch(AttrPK, AttrSK).Write().Delete(ks...).Run(ctx)
	if errors.Is(err, dynamo.ErrNoInput) {
		return nil
	}
	return err
}
