package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/guregu/dynamo/v2"

	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// The hourly buckets. The stats item holds the buckets of the last two
// hours written, beside the counters: hour h in slot h mod 2, as top-level
// attributes "b<slot><member>": "t" the hour itself (hours since the
// epoch), "s", "f", "r" the counts and "l0" .. "l30" the response-time
// buckets, only those counted. Top-level, so ADD works on them (ADD takes no
// nested path, and the embedded emulator has none). The counter update that
// already happens per webhook per batch adds to its hour's slot: no extra
// write, and the item stays small (every write on it, the health's too, is
// billed per KB of the whole item: docs/cost.md).
//
// The first update of a new hour resets its slot, which held the hour two
// or more before, in the same request, and gets the item as it was
// (ReturnValues ALL_OLD). Both hours it held are then put as items of their
// own, wh#<id> / hour#<hour>, with the bucket's members unprefixed and a TTL
// (expires_at) a day past the 7 days served: the one just replaced for
// good, the other (the previous hour, still in the stats item and still
// taking late batches) as it stands, to be put again, final, at the next
// new hour. One BatchWriteItem per webhook and hour with traffic, never per
// delivery. Only the update whose reset won sees the old slots, so nothing
// is put twice at once. A crash between the reset and the puts loses no
// hour when the replaced one had traffic in the hour after it (that hour's
// reset put it; only what late batches added since is lost); the other is
// put at the next reset. A webhook idle in that hour loses the replaced
// hour's bucket; the counters are in the reset itself, never lost.

const (
	bucketHour      = "t"
	bucketSucceeded = "s"
	bucketFailed    = "f"
	bucketRetrying  = "r"

	bucketSlots  = 2
	skHourPrefix = "hour#"
	// hourTTL is how long a finished hour's item lives past its hour: the
	// longest window served plus a day of slack for TTL's own delay.
	hourTTL = webhook.MaxStatsSpan + 24*time.Hour
)

func latencyMember(i int) string { return "l" + strconv.Itoa(i) }

// slotPrefix is the prefix of hour's slot in the stats item.
func slotPrefix(hour int64) string { return "b" + strconv.FormatInt(hour%bucketSlots, 10) }

func hourNumber(h time.Time) int64 { return h.Unix() / 3600 }

func hourTime(hour int64) time.Time { return time.Unix(hour*3600, 0).UTC() }

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

// bucketMode is how one stats update treats its hour's slot.
type bucketMode int

const (
	bucketAdd   bucketMode = iota // the slot holds this hour: add to it
	bucketReset                   // the slot is empty or holds an older hour: replace it
	bucketSkip                    // the slot holds a newer hour (a batch two hours late): counters only
)

// lastHours remembers, per webhook, the latest hour this process wrote, so
// an update is sent in the right form first: the first of a new hour resets
// its slot, the rest add to it, one request each. Another container that
// wrote the hour first costs one failed request, once.
type lastHours struct {
	mu sync.Mutex
	m  map[string]int64
}

// maxLastHours bounds the memory: past it the map starts over (a reset
// costs at most one more request per webhook).
const maxLastHours = 10000

// modes are the forms to try, in order, for hour of webhook id.
func (c *lastHours) modes(id string, hour int64) []bucketMode {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch last, ok := c.m[id]; {
	case ok && last == hour:
		return []bucketMode{bucketAdd, bucketReset, bucketAdd, bucketSkip}
	case ok && last == hour+1:
		// The previous hour: its slot holds it still (or an older hour, if
		// nobody wrote it), unless a newer hour took it meanwhile.
		return []bucketMode{bucketAdd, bucketReset, bucketAdd, bucketSkip}
	case ok && last > hour:
		// Hour last is in the item, and hour last-1 or later in the other
		// slot: hour's is gone.
		return []bucketMode{bucketSkip}
	default:
		return []bucketMode{bucketReset, bucketAdd, bucketReset, bucketSkip}
	}
}

func (c *lastHours) wrote(id string, hour int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxLastHours {
		c.m = map[string]int64{}
	}
	if last, ok := c.m[id]; !ok || hour > last {
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
	p := slotPrefix(hour)
	fields := bucketFields(h)
	if mode == bucketAdd {
		for name, n := range fields {
			u = u.Add(p+name, n)
		}
		return u.If("$ = ?", p+bucketHour, hour)
	}
	u = u.Set(p+bucketHour, hour)
	for _, name := range bucketMembers {
		if n, ok := fields[name]; ok {
			u = u.Set(p+name, n)
		} else {
			u = u.Remove(p + name) // the older hour's
		}
	}
	return u.If("attribute_not_exists($) OR $ < ?", p+bucketHour, p+bucketHour, hour)
}

// hourItems are the items to put for the slots of old, the stats item as a
// reset found it: one per slot holding an hour that has not expired by now.
func hourItems(id string, old dynamo.Item, now time.Time) ([]any, error) {
	var out []any
	for slot := range bucketSlots {
		p := "b" + strconv.Itoa(slot)
		av, ok := old[p+bucketHour]
		if !ok {
			continue
		}
		hour, err := numberOf(p+bucketHour, av)
		if err != nil {
			return nil, err
		}
		expires := hourTime(hour).Add(hourTTL)
		if !expires.After(now) {
			continue
		}
		item := dynamo.Item{
			AttrPK:       &types.AttributeValueMemberS{Value: webhookPK(id)},
			AttrSK:       &types.AttributeValueMemberS{Value: hourSK(hour)},
			bucketHour:   av,
			TTLAttribute: &types.AttributeValueMemberN{Value: strconv.FormatInt(expires.Unix(), 10)},
		}
		for _, name := range bucketMembers {
			if v, ok := old[p+name]; ok {
				item[name] = v
			}
		}
		out = append(out, item)
	}
	return out, nil
}

// putHours writes the hours of the slots a reset found as items of their own.
func (s *Store) putHours(ctx context.Context, id string, old dynamo.Item) error {
	items, err := hourItems(id, old, s.now())
	if err != nil || len(items) == 0 {
		return err
	}
	_, err = s.webhooks.Batch(AttrPK, AttrSK).Write().Put(items...).Run(ctx)
	return err
}

// memberIndex numbers the members of bucketMembers, for bucketOf.
var memberIndex = func() map[string]int {
	m := make(map[string]int, len(bucketMembers))
	for i, name := range bucketMembers {
		m[name] = i
	}
	return m
}()

// bucketOf reads the bucket whose attributes are named with prefix p (a
// stats item's slot, or "" for an hour item): one pass over the item's
// attributes; ok is false when it holds none.
func bucketOf(item dynamo.Item, p string) (h webhook.HourStats, ok bool, err error) {
	for name, av := range item {
		if !strings.HasPrefix(name, p) {
			continue
		}
		member := name[len(p):]
		i, isCount := memberIndex[member]
		if !isCount && member != bucketHour {
			continue // not a bucket's
		}
		n, err := numberOf(name, av)
		if err != nil {
			return h, false, err
		}
		switch {
		case !isCount:
			h.Start, ok = hourTime(n), true
		case i == 0:
			h.Succeeded = n
		case i == 1:
			h.Failed = n
		case i == 2:
			h.Retrying = n
		default:
			h.Latency[i-3] = n
		}
	}
	if !ok {
		return webhook.HourStats{}, false, nil // members without their hour: none
	}
	return h, true, nil
}

// slotHours reads the slots of a stats item, oldest first.
func slotHours(item dynamo.Item) ([]webhook.HourStats, error) {
	var out []webhook.HourStats
	for slot := range bucketSlots {
		h, ok, err := bucketOf(item, "b"+strconv.Itoa(slot))
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, h)
		}
	}
	webhook.SortHours(out)
	return out, nil
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

// hourItemsSince reads the hour items of webhook id from hour since on,
// oldest first (one eventually consistent Query: an hour just put may be
// missed for a moment, but the stats item holds it too).
func (s *Store) hourItemsSince(ctx context.Context, id string, since time.Time) ([]webhook.HourStats, error) {
	var items []dynamo.Item
	err := s.webhooks.Get(AttrPK, webhookPK(id)).
		Range(AttrSK, dynamo.Between, hourSK(hourNumber(since)), hourSK(9999999999)).
		All(ctx, &items)
	if err != nil {
		return nil, err
	}
	out := make([]webhook.HourStats, 0, len(items))
	for _, it := range items {
		h, ok, err := bucketOf(it, "")
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
	return err
}
