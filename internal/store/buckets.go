package store

import (
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/guregu/dynamo/v2"

	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// The hourly buckets live in the stats item beside the counters, so the
// counter update that already happens per webhook per batch carries them:
// no extra write. Hour h's bucket is kept in slot h mod webhook.StatsHours
// as top-level attributes "h<slot><member>": "t" the hour itself (hours
// since the epoch), "s", "f", "r" the counts and "l0" .. "l30" the
// response-time buckets, only those counted. Top-level, so ADD works on
// them (ADD takes no nested path, and the embedded emulator has none). A
// new hour takes the place of the one 7 days before, so the item stays
// bounded (docs/cost.md has its size). Names are short: every write is
// billed per KB of the whole item.

const (
	bucketHour      = "t"
	bucketSucceeded = "s"
	bucketFailed    = "f"
	bucketRetrying  = "r"
)

func latencyMember(i int) string { return "l" + strconv.Itoa(i) }

func slotPrefix(slot int) string { return "h" + strconv.Itoa(slot) }

func hourNumber(h time.Time) int64 { return h.Unix() / 3600 }

// bucketMembers are the members of a bucket other than its hour.
var bucketMembers = func() []string {
	m := []string{bucketSucceeded, bucketFailed, bucketRetrying}
	for i := range webhook.LatencyBuckets {
		m = append(m, latencyMember(i))
	}
	return m
}()

// bucketMode is how one stats update treats its hour's bucket.
type bucketMode int

const (
	bucketAdd   bucketMode = iota // the slot holds this hour: add to it
	bucketReset                   // the slot is empty or holds an older hour: replace it
	bucketSkip                    // the slot holds a newer hour (clock skew): leave it
)

// slotHours remembers, per webhook, the hour whose bucket this process last
// wrote, so an update is sent in the right form first: the first of a new
// hour resets the slot, the rest add to it, one request each. Another
// container that wrote the hour first costs one failed request, once.
type slotHours struct {
	mu sync.Mutex
	m  map[string]int64
}

// maxSlotHours bounds the memory: past it the map starts over (a reset
// costs at most one more request per webhook).
const maxSlotHours = 10000

// modes are the forms to try, in order, for hour of webhook id.
func (c *slotHours) modes(id string, hour int64) []bucketMode {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m[id] == hour {
		return []bucketMode{bucketAdd, bucketReset, bucketAdd, bucketSkip}
	}
	return []bucketMode{bucketReset, bucketAdd, bucketReset, bucketSkip}
}

func (c *slotHours) wrote(id string, hour int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxSlotHours {
		c.m = map[string]int64{}
	}
	c.m[id] = hour
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
	p, hour := slotPrefix(webhook.HourSlot(h.Start)), hourNumber(h.Start)
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

// hoursOf reads the buckets of a stats item: one pass over its
// attributes, those named h<slot><member>.
func hoursOf(item dynamo.Item) ([]webhook.HourStats, error) {
	var (
		hours [webhook.StatsHours]webhook.HourStats
		held  [webhook.StatsHours]bool
	)
	for name, av := range item {
		slot, member, ok := bucketName(name)
		if !ok {
			continue
		}
		num, isNum := av.(*types.AttributeValueMemberN)
		if !isNum {
			return nil, fmt.Errorf("stats bucket %s is not a number", name)
		}
		n, err := strconv.ParseInt(num.Value, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("stats bucket %s: %w", name, err)
		}
		h := &hours[slot]
		switch member {
		case bucketHour:
			h.Start, held[slot] = time.Unix(n*3600, 0).UTC(), true
		case bucketSucceeded:
			h.Succeeded = n
		case bucketFailed:
			h.Failed = n
		case bucketRetrying:
			h.Retrying = n
		default:
			i, err := strconv.Atoi(member[1:])
			if member[0] != 'l' || err != nil || i < 0 || i >= webhook.LatencyBuckets {
				continue // not ours
			}
			h.Latency[i] = n
		}
	}
	n := 0
	for _, h := range held {
		if h {
			n++
		}
	}
	if n == 0 {
		return nil, nil
	}
	out := make([]webhook.HourStats, 0, n)
	for slot := range hours {
		if held[slot] { // a slot without its hour is a half-removed one: none
			out = append(out, hours[slot])
		}
	}
	webhook.SortHours(out)
	return out, nil
}

// bucketName splits an attribute name h<slot><member>; ok is false for the
// item's other attributes.
func bucketName(name string) (slot int, member string, ok bool) {
	if len(name) < 3 || name[0] != 'h' {
		return 0, "", false
	}
	j := 1
	for j < len(name) && name[j] >= '0' && name[j] <= '9' {
		j++
	}
	if j == 1 || j == len(name) {
		return 0, "", false
	}
	slot, err := strconv.Atoi(name[1:j])
	if err != nil || slot >= webhook.StatsHours {
		return 0, "", false
	}
	return slot, name[j:], true
}
