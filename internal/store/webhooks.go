package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/guregu/dynamo/v2"

	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// maxEvents keeps an update's transaction within DynamoDB's 100 actions: the
// config, the removed events' deletes and the new events' puts.
const maxEvents = 49

// attrFilter is the payload filter's attribute, on the config and on each
// subscription item.
const attrFilter = "filter"

func notFound(id string) error {
	return webhook.Errorf(webhook.ENotFound, "webhook %s not found", id)
}

func stale(id string) error {
	return webhook.Errorf(webhook.EConflict, "webhook %s was changed since it was read (stale version)", id)
}

// CreateWebhook stores a new webhook: its config and one subscription item
// per event, in one transaction. An existing id is EConflict. On success
// w.Version is 1. Plaintext w.Credentials are never written.
func (s *Store) CreateWebhook(ctx context.Context, w *webhook.Webhook) error {
	if w == nil || !webhook.ValidID(webhook.WebhookIDPrefix, w.ID) {
		return webhook.Invalid("id", "webhook id is malformed")
	}
	if len(uniqueEvents(w.Events)) > maxEvents {
		return webhook.Invalid("events", "at most %d events", maxEvents)
	}
	item := toWebhookItem(w, 1)
	tx := s.db.WriteTx().Put(s.webhooks.Put(item).If("attribute_not_exists('pk')"))
	for _, e := range item.Events {
		tx.Put(s.webhooks.Put(subItem{PK: subPK(e), SK: w.ID, Status: item.Status, Filter: item.Filter, Hold: item.Hold}))
	}
	for attempt := 1; ; attempt++ {
		err := tx.Run(ctx)
		switch {
		case err == nil:
			w.Version = 1
			return nil
		case dynamo.IsCondCheckFailed(err):
			return webhook.Errorf(webhook.EConflict, "webhook %s already exists", w.ID)
		case txConflict(err) && attempt < txRetries:
			continue
		case txConflict(err):
			return webhook.Errorf(webhook.EConflict, "webhook %s is being changed concurrently", w.ID)
		default:
			return fmt.Errorf("create webhook %s: %w", w.ID, err)
		}
	}
}

// GetWebhook returns the webhook with id (strongly consistent), or ENotFound.
func (s *Store) GetWebhook(ctx context.Context, id string) (*webhook.Webhook, error) {
	it, err := s.getConfig(ctx, id)
	if err != nil {
		return nil, err
	}
	return it.webhook(), nil
}

func (s *Store) getConfig(ctx context.Context, id string) (*webhookItem, error) {
	if !webhook.ValidID(webhook.WebhookIDPrefix, id) {
		// No webhook can have this id; don't send garbage keys to DynamoDB.
		return nil, notFound(id)
	}
	var it webhookItem
	err := s.webhooks.Get(AttrPK, webhookPK(id)).Range(AttrSK, dynamo.Equal, skConfig).Consistent(true).One(ctx, &it)
	if errors.Is(err, dynamo.ErrNotFound) {
		return nil, notFound(id)
	} else if err != nil {
		return nil, fmt.Errorf("get webhook %s: %w", id, err)
	}
	return &it, nil
}

// ListWebhooks returns one page of webhooks in creation order (ids are
// UUIDv7), filtered by event and/or status. It only queries: by event, the
// event's subscription partition (then the configs by BatchGetItem); by
// status, the by_status GSI; otherwise the by_kind GSI.
//
// Limit 0 means webhook.DefaultListLimit; otherwise webhook.CheckListLimit
// holds it (EInvalid "limit"). The cursor is opaque; one that does not decode or was issued for
// another filter is EInvalid "cursor". NextCursor is "" on the last page: one
// more item than asked is read to know whether another page exists.
func (s *Store) ListWebhooks(ctx context.Context, f webhook.ListFilter) (webhook.Page[*webhook.Webhook], error) {
	var page webhook.Page[*webhook.Webhook]
	limit, err := pageLimit(f.Limit)
	if err != nil {
		return page, err
	}
	switch f.Status {
	case "", webhook.StatusActive, webhook.StatusInactive:
	default:
		return page, webhook.Invalid("status", "status must be %q or %q", webhook.StatusActive, webhook.StatusInactive)
	}
	if f.Event != "" && !webhook.IsEvent(f.Event) {
		return page, webhook.Invalid("event", "unknown event %q", f.Event)
	}
	after, err := decodeCursor(f.Cursor, webhookFilter(f), webhook.WebhookIDPrefix)
	if err != nil {
		return page, err
	}

	var items []webhookItem
	var lastID string
	more := false
	if f.Event != "" {
		items, lastID, more, err = s.listByEvent(ctx, f, after, limit)
	} else {
		var q *dynamo.Query
		if f.Status != "" {
			q = s.webhooks.Get(AttrWHStatus, string(f.Status)).Index(IndexByStatus)
		} else {
			q = s.webhooks.Get(AttrKind, kindWebhook).Index(IndexByKind)
		}
		if after != "" {
			q.Range(AttrID, dynamo.Greater, after)
		}
		err = q.Limit(limit+1).All(ctx, &items)
		if more = len(items) > limit; more {
			items = items[:limit]
		}
		if len(items) > 0 {
			lastID = items[len(items)-1].ID
		}
	}
	if err != nil {
		return page, fmt.Errorf("list webhooks: %w", err)
	}
	page.Items = make([]*webhook.Webhook, 0, len(items))
	for i := range items {
		page.Items = append(page.Items, items[i].webhook())
	}
	if more {
		page.NextCursor = encodeCursor(webhookFilter(f), lastID)
	}
	return page, nil
}

// listByEvent reads up to limit subscriptions of f.Event after the given id,
// then their configs. lastID is the last subscription read, which is where the
// next page starts even if its config vanished meanwhile.
func (s *Store) listByEvent(ctx context.Context, f webhook.ListFilter, after string, limit int) (items []webhookItem, lastID string, more bool, err error) {
	q := s.webhooks.Get(AttrPK, subPK(f.Event)).Project(AttrSK)
	if after != "" {
		q.Range(AttrSK, dynamo.Greater, after)
	}
	if f.Status != "" {
		q.Filter("'status' = ?", string(f.Status))
	}
	var subs []subItem
	if err := q.Limit(limit+1).All(ctx, &subs); err != nil {
		return nil, "", false, fmt.Errorf("query subscriptions of %s: %w", f.Event, err)
	}
	if more = len(subs) > limit; more {
		subs = subs[:limit]
	}
	if len(subs) == 0 {
		return nil, "", false, nil
	}
	keys := make([]dynamo.Keyed, len(subs))
	for i, sub := range subs {
		keys[i] = dynamo.Keys{webhookPK(sub.SK), skConfig}
	}
	var got []webhookItem
	err = s.webhooks.Batch(AttrPK, AttrSK).Get(keys...).Consistent(true).All(ctx, &got)
	if err != nil && !errors.Is(err, dynamo.ErrNotFound) {
		return nil, "", false, fmt.Errorf("get webhooks of %s: %w", f.Event, err)
	}
	// BatchGetItem returns items in any order; keep the subscriptions' order.
	byID := make(map[string]webhookItem, len(got))
	for _, it := range got {
		byID[it.ID] = it
	}
	items = make([]webhookItem, 0, len(subs))
	for _, sub := range subs {
		if it, ok := byID[sub.SK]; ok {
			items = append(items, it)
		}
	}
	return items, subs[len(subs)-1].SK, more, nil
}

// UpdateWebhook replaces a webhook's config with optimistic concurrency:
// w.Version is the version the caller read. In one transaction it writes the
// config (only if the stored version is still w.Version), deletes the
// subscription items of removed events and writes those of the others with
// the current status. A changed version is EConflict, a deleted webhook
// ENotFound. On success w.Version is incremented; UpdatedAt is stored as
// given.
func (s *Store) UpdateWebhook(ctx context.Context, w *webhook.Webhook) error {
	if w == nil {
		return errors.New("store: update webhook: nil webhook")
	}
	if len(uniqueEvents(w.Events)) > maxEvents {
		return webhook.Invalid("events", "at most %d events", maxEvents)
	}
	for attempt := 1; ; attempt++ {
		cur, err := s.getConfig(ctx, w.ID)
		if err != nil {
			return err
		}
		if cur.Version != w.Version {
			return stale(w.ID)
		}
		item := toWebhookItem(w, w.Version+1)
		tx := s.db.WriteTx().Put(s.webhooks.Put(item).If("'version' = ?", w.Version))
		keep := make(map[string]bool, len(item.Events))
		for _, e := range item.Events {
			keep[e] = true
			tx.Put(s.webhooks.Put(subItem{PK: subPK(e), SK: w.ID, Status: item.Status, Filter: item.Filter, Hold: item.Hold}))
		}
		for _, e := range uniqueEvents(cur.Events) {
			if !keep[e] {
				tx.Delete(s.webhooks.Delete(AttrPK, subPK(e)).Range(AttrSK, w.ID))
			}
		}
		err = tx.Run(ctx)
		switch {
		case err == nil:
			w.Version = item.Version
			return nil
		case dynamo.IsCondCheckFailed(err):
			// Changed or deleted since the read above: tell which.
			if _, err := s.getConfig(ctx, w.ID); err != nil {
				return err
			}
			return stale(w.ID)
		case txConflict(err) && attempt < txRetries:
			continue // re-read: a winner would have bumped the version
		case txConflict(err):
			return stale(w.ID)
		default:
			return fmt.Errorf("update webhook %s: %w", w.ID, err)
		}
	}
}

// DeleteWebhook removes a webhook's config, its subscription items and its
// stats in one transaction, then its finished hours' items; ENotFound if it
// does not exist. Deliveries stay until retention removes them.
func (s *Store) DeleteWebhook(ctx context.Context, id string) error {
	for attempt := 1; ; attempt++ {
		cur, err := s.getConfig(ctx, id)
		if err != nil {
			return err
		}
		// Conditioned on the version read, so an update racing with the
		// delete cannot leave subscription items of events added meanwhile.
		tx := s.db.WriteTx().
			Delete(s.webhooks.Delete(AttrPK, webhookPK(id)).Range(AttrSK, skConfig).If("'version' = ?", cur.Version)).
			Delete(s.webhooks.Delete(AttrPK, webhookPK(id)).Range(AttrSK, skStats)).
			Delete(s.webhooks.Delete(AttrPK, webhookPK(id)).Range(AttrSK, skDrain)) // its drain stops (held.go)
		for _, e := range uniqueEvents(cur.Events) {
			tx.Delete(s.webhooks.Delete(AttrPK, subPK(e)).Range(AttrSK, id))
		}
		err = tx.Run(ctx)
		switch {
		case err == nil:
			// The finished hours' items (up to 169) cannot join the
			// transaction (100 items at most), so they go after it, best
			// effort: the webhook is gone either way, its id is never used
			// again, and an item left by a failure here expires by TTL
			// within 8 days.
			_ = s.deleteHours(ctx, id)
			return nil
		case (dynamo.IsCondCheckFailed(err) || txConflict(err)) && attempt < txRetries:
			continue // re-read: gone (ENotFound) or changed (delete that)
		case dynamo.IsCondCheckFailed(err) || txConflict(err):
			return webhook.Errorf(webhook.EConflict, "webhook %s is being changed concurrently", id)
		default:
			return fmt.Errorf("delete webhook %s: %w", id, err)
		}
	}
}

// ActiveSubscribers returns the ids of the active webhooks subscribed to
// event, in id order (see ActiveSubscriptions).
func (s *Store) ActiveSubscribers(ctx context.Context, event string) ([]string, error) {
	subs, err := s.ActiveSubscriptions(ctx, event)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(subs))
	for i, sub := range subs {
		ids[i] = sub.WebhookID
	}
	return ids, nil
}

// ActiveSubscriptions returns the active webhooks subscribed to event with
// their payload filters, in id order, reading every page of the event's
// subscription partition (strongly consistent; never a scan). A webhook
// paused with hold counts as active here: its deliveries are made, and held
// by the delivery function (held.go). An unknown event is EInvalid "event".
func (s *Store) ActiveSubscriptions(ctx context.Context, event string) ([]webhook.Subscription, error) {
	if !webhook.IsEvent(event) {
		return nil, webhook.Invalid("event", "unknown event %q", event)
	}
	var subs []subItem
	err := s.webhooks.Get(AttrPK, subPK(event)).
		Filter("'status' = ? OR 'hold' = ?", string(webhook.StatusActive), true).
		Project(AttrSK, attrFilter).
		Consistent(true).
		All(ctx, &subs)
	if err != nil {
		return nil, fmt.Errorf("subscribers of %s: %w", event, err)
	}
	out := make([]webhook.Subscription, len(subs))
	for i, sub := range subs {
		out[i] = webhook.Subscription{WebhookID: sub.SK, Filter: sub.Filter}
	}
	return out, nil
}

// GetStats returns a webhook's counters; zero Stats when nothing was recorded
// yet. It does not check that the webhook exists (callers read it first).
func (s *Store) GetStats(ctx context.Context, id string) (webhook.Stats, error) {
	if !webhook.ValidID(webhook.WebhookIDPrefix, id) {
		return webhook.Stats{}, notFound(id)
	}
	var item dynamo.Item
	err := s.webhooks.Get(AttrPK, webhookPK(id)).Range(AttrSK, dynamo.Equal, skStats).One(ctx, &item)
	if errors.Is(err, dynamo.ErrNotFound) {
		return webhook.Stats{}, nil
	} else if err != nil {
		return webhook.Stats{}, fmt.Errorf("get stats of %s: %w", id, err)
	}
	var it statsItem
	if err := dynamo.UnmarshalItem(item, &it); err != nil {
		return webhook.Stats{}, fmt.Errorf("read stats of %s: %w", id, err)
	}
	st := it.stats()
	if st.Hours, err = slotHours(item); err != nil {
		return webhook.Stats{}, fmt.Errorf("read stats of %s: %w", id, err)
	}
	return st, nil
}

// GetStatsSince returns a webhook's counters with its hourly buckets from
// hour since on: the last two hours written from the stats item, older ones
// from their own items (one GetItem and one Query, both eventually
// consistent). Hours without traffic have no bucket.
func (s *Store) GetStatsSince(ctx context.Context, id string, since time.Time) (webhook.Stats, error) {
	st, err := s.GetStats(ctx, id)
	if err != nil {
		return st, err
	}
	put, err := s.hourItemsSince(ctx, id, since)
	if err != nil {
		return webhook.Stats{}, fmt.Errorf("get hourly stats of %s: %w", id, err)
	}
	inItem := make(map[time.Time]bool, len(st.Hours))
	hours := st.Hours[:0:0]
	for _, h := range st.Hours {
		if !h.Start.Before(since) {
			inItem[h.Start] = true
			hours = append(hours, h)
		}
	}
	for _, h := range put {
		// The stats item's copy of an hour is the newer one (late batches
		// add to it after it was put).
		if !inItem[h.Start] {
			hours = append(hours, h)
		}
	}
	webhook.SortHours(hours)
	st.Hours = hours
	return st, nil
}
