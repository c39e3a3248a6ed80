package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/guregu/dynamo/v2"

	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// A webhook's health lives in its stats item (wh#<id> / stats), in
// attributes of its own, written by the methods of this file only, one
// UpdateItem per call: the item is small, already read with the statistics,
// deleted with the webhook, and no second item per webhook is paid for.
// last_success_at is the statistics' own (AddStats sets it per batch).
// Times compared in conditions are unix milliseconds (N): RFC 3339 strings
// with trimmed fractions do not sort as times.
const (
	attrCircuit      = "circuit"
	attrConsecutive  = "consecutive_failures"
	attrFailingSince = "failing_since"
	attrOpenedAt     = "opened_at"
	attrNextProbe    = "next_probe_ms"
	attrProbeUntil   = "probe_until_ms"
	attrProbeBy      = "probe_by"
	attrCooldown     = "cooldown_ms"
)

// healthItem is the health attributes of a stats item.
type healthItem struct {
	PK                  string     `dynamo:"pk,hash"`
	SK                  string     `dynamo:"sk,range"`
	LastSuccessAt       *time.Time `dynamo:"last_success_at"`
	Circuit             string     `dynamo:"circuit"`
	ConsecutiveFailures int64      `dynamo:"consecutive_failures"`
	FailingSince        *time.Time `dynamo:"failing_since"`
	OpenedAt            *time.Time `dynamo:"opened_at"`
	NextProbeMS         int64      `dynamo:"next_probe_ms"`
	ProbeUntilMS        int64      `dynamo:"probe_until_ms"`
	ProbeBy             string     `dynamo:"probe_by"`
	CooldownMS          int64      `dynamo:"cooldown_ms"`
}

func msTime(ms int64) *time.Time {
	if ms == 0 {
		return nil
	}
	t := time.UnixMilli(ms).UTC()
	return &t
}

func (it *healthItem) health() webhook.Health {
	h := webhook.Health{
		Circuit:             webhook.Circuit(it.Circuit),
		ConsecutiveFailures: it.ConsecutiveFailures,
		FailingSince:        it.FailingSince,
		LastSuccessAt:       it.LastSuccessAt,
		OpenedAt:            it.OpenedAt,
		NextProbeAt:         msTime(it.NextProbeMS),
		CooldownMS:          it.CooldownMS,
		ProbeUntil:          msTime(it.ProbeUntilMS),
		ProbeBy:             it.ProbeBy,
	}
	if h.Circuit == webhook.CircuitClosed {
		h.Circuit = ""
	}
	return h
}

// statsUpdate updates a webhook's stats item, which holds its counters
// (AddStats), its held count (countHeld) and its health.
func (s *Store) statsUpdate(id string) *dynamo.Update {
	return s.webhooks.Update(AttrPK, webhookPK(id)).Range(AttrSK, skStats)
}

// GetHealth returns a webhook's health (eventually consistent: the
// delivery path learns its own writes from their answers); the zero Health
// when nothing was recorded. It does not check that the webhook exists.
func (s *Store) GetHealth(ctx context.Context, id string) (webhook.Health, error) {
	if !webhook.ValidID(webhook.WebhookIDPrefix, id) {
		return webhook.Health{}, notFound(id)
	}
	var it healthItem
	err := s.webhooks.Get(AttrPK, webhookPK(id)).Range(AttrSK, dynamo.Equal, skStats).One(ctx, &it)
	if errors.Is(err, dynamo.ErrNotFound) {
		return webhook.Health{}, nil
	} else if err != nil {
		return webhook.Health{}, fmt.Errorf("get health of %s: %w", id, err)
	}
	return it.health(), nil
}

// Healths returns the health of each webhook of ids (one BatchGetItem per
// 100); webhooks with nothing recorded are absent from the map.
func (s *Store) Healths(ctx context.Context, ids []string) (map[string]webhook.Health, error) {
	out := make(map[string]webhook.Health, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	keys := make([]dynamo.Keyed, 0, len(ids))
	for _, id := range ids {
		if webhook.ValidID(webhook.WebhookIDPrefix, id) {
			keys = append(keys, dynamo.Keys{webhookPK(id), skStats})
		}
	}
	var items []healthItem
	err := s.webhooks.Batch(AttrPK, AttrSK).Get(keys...).All(ctx, &items)
	if err != nil && !errors.Is(err, dynamo.ErrNotFound) {
		return nil, fmt.Errorf("get health of %d webhooks: %w", len(ids), err)
	}
	for i := range items {
		out[items[i].PK[len(webhookPKPrefix):]] = items[i].health()
	}
	return out, nil
}

// RecordFailure counts a failed attempt: one more consecutive failure, the
// run's start kept. It answers the health after the write.
func (s *Store) RecordFailure(ctx context.Context, id string, at time.Time) (webhook.Health, error) {
	var it healthItem
	err := s.statsUpdate(id).Add(attrConsecutive, 1).SetIfNotExists(attrFailingSince, at.UTC()).Value(ctx, &it)
	if err != nil {
		return webhook.Health{}, fmt.Errorf("record failure of %s: %w", id, err)
	}
	return it.health(), nil
}

// RecordSuccess clears the failures and closes the circuit, whatever its
// state: the endpoint answered. closed says this write closed an open or
// half-open circuit (read from the item as it was, so of concurrent
// successes exactly one closed it): the webhook.recovered transition.
func (s *Store) RecordSuccess(ctx context.Context, id string) (h webhook.Health, closed bool, err error) {
	var old healthItem
	err = s.statsUpdate(id).Set(attrConsecutive, 0).
		Remove(attrFailingSince, attrCircuit, attrOpenedAt, attrNextProbe, attrProbeUntil, attrProbeBy, attrCooldown).
		OldValue(ctx, &old)
	if err != nil {
		return webhook.Health{}, false, fmt.Errorf("record success of %s: %w", id, err)
	}
	return webhook.Health{LastSuccessAt: old.LastSuccessAt}, old.Circuit != "" && old.Circuit != string(webhook.CircuitClosed), nil
}

// ResetHealth forgets a webhook's failures and closes its circuit (a
// resume). The statistics stay.
func (s *Store) ResetHealth(ctx context.Context, id string) error {
	if _, _, err := s.RecordSuccess(ctx, id); err != nil {
		return fmt.Errorf("reset health: %w", err)
	}
	return nil
}

// OpenCircuit opens a closed circuit that has at least openAfter
// consecutive failures, for cooldown from at. ok is false when the
// condition did not hold (another job opened it, or a success closed it);
// the health is then read again.
func (s *Store) OpenCircuit(ctx context.Context, id string, at time.Time, openAfter int, cooldown time.Duration) (h webhook.Health, ok bool, err error) {
	var it healthItem
	err = s.statsUpdate(id).
		Set(attrCircuit, string(webhook.CircuitOpen)).Set(attrOpenedAt, at.UTC()).
		Set(attrCooldown, cooldown.Milliseconds()).Set(attrNextProbe, at.Add(cooldown).UnixMilli()).
		If("attribute_not_exists($) AND $ >= ?", attrCircuit, attrConsecutive, openAfter).
		Value(ctx, &it)
	return s.conditional(ctx, id, "open circuit", &it, err)
}

// ClaimProbe makes an open circuit whose next probe is due at now, or a
// half-open one whose probe's claim lapsed, half-open with a probe by "by"
// until now + lease. Of concurrent claims one wins (ok); the others get the
// health as it is.
func (s *Store) ClaimProbe(ctx context.Context, id string, now time.Time, lease time.Duration, by string) (h webhook.Health, ok bool, err error) {
	var it healthItem
	ms := now.UnixMilli()
	err = s.statsUpdate(id).
		Set(attrCircuit, string(webhook.CircuitHalfOpen)).Set(attrProbeUntil, now.Add(lease).UnixMilli()).Set(attrProbeBy, by).
		If("($ = ? AND $ <= ?) OR ($ = ? AND $ <= ?)",
			attrCircuit, string(webhook.CircuitOpen), attrNextProbe, ms,
			attrCircuit, string(webhook.CircuitHalfOpen), attrProbeUntil, ms).
		Value(ctx, &it)
	return s.conditional(ctx, id, "claim probe", &it, err)
}

// ProbeFailed re-opens a half-open circuit whose probe by "by" failed, for
// cooldown from at, and counts the failure. ok is false when the probe was
// no longer the one (its claim lapsed and another job probes, or a success
// closed the circuit): nothing is written then.
func (s *Store) ProbeFailed(ctx context.Context, id string, at time.Time, by string, cooldown time.Duration) (h webhook.Health, ok bool, err error) {
	var it healthItem
	err = s.statsUpdate(id).
		Set(attrCircuit, string(webhook.CircuitOpen)).Set(attrCooldown, cooldown.Milliseconds()).
		Set(attrNextProbe, at.Add(cooldown).UnixMilli()).Remove(attrProbeUntil, attrProbeBy).
		Add(attrConsecutive, 1).
		If("$ = ? AND $ = ?", attrCircuit, string(webhook.CircuitHalfOpen), attrProbeBy, by).
		Value(ctx, &it)
	return s.conditional(ctx, id, "re-open circuit", &it, err)
}

// conditional answers a conditional health update: its new state, or on a
// failed condition the state read again (strongly consistent).
func (s *Store) conditional(ctx context.Context, id, what string, it *healthItem, err error) (webhook.Health, bool, error) {
	if err == nil {
		return it.health(), true, nil
	}
	if !dynamo.IsCondCheckFailed(err) {
		return webhook.Health{}, false, fmt.Errorf("%s of %s: %w", what, id, err)
	}
	var cur healthItem
	err = s.webhooks.Get(AttrPK, webhookPK(id)).Range(AttrSK, dynamo.Equal, skStats).Consistent(true).One(ctx, &cur)
	if err != nil && !errors.Is(err, dynamo.ErrNotFound) {
		return webhook.Health{}, false, fmt.Errorf("%s of %s: read health: %w", what, id, err)
	}
	return cur.health(), false, nil
}
