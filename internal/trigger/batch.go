package trigger

import (
	"context"
	"fmt"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// MaxBatch bounds the events of one batch trigger (POST /events/batch).
const MaxBatch = 100

// keyConcurrency bounds the idempotency claims and completions of a batch
// made at once.
const keyConcurrency = 10

// CheckBatchSize refuses a batch of n events that is empty or over MaxBatch:
// the whole request, before any of its events is looked at.
func CheckBatchSize(n int) error {
	switch {
	case n == 0:
		return webhook.Invalid("events", "events is empty; give 1 to %d events", MaxBatch)
	case n > MaxBatch:
		return webhook.Invalid("events", "%d events; a batch holds at most %d", n, MaxBatch)
	}
	return nil
}

// Batch triggers the API requests reqs (POST /events/batch) as one request:
// results[i] and errs[i] answer reqs[i]; an event refused or failed alone
// enqueued nothing, unless its error says how to finish it (as Trigger's). Each event is validated and accepted or refused
// on its own; the accepted ones are fanned out together, with one subscriber
// query per distinct event name and all their jobs in one SendJobs call. An
// event's idempotency key works as Trigger's (claimed before, completed
// after the fan-out; a key done before answers its first result). A key
// given twice in one batch is the same event: the later item answers the
// first's result (or error) and enqueues nothing; with a different event it
// is refused as a conflict. The error is for the batch as a whole (no
// events, more than MaxBatch): then nothing is enqueued.
func (s *Service) Batch(ctx context.Context, reqs []webhook.TriggerRequest) ([]webhook.TriggerResult, []error, error) {
	if err := CheckBatchSize(len(reqs)); err != nil {
		return nil, nil, err
	}
	items := make([]item, len(reqs))
	now := s.now().UTC()
	var (
		ps    = make([]*pending, len(reqs)) // ps[i] is reqs[i]'s, nil once answered
		same  = map[int]int{}               // a repeated key's item -> its first item
		first = map[string]int{}            // a key -> its first item
		fps   = make([]string, len(reqs))
	)
	for i, r := range reqs {
		r.Source = webhook.FromAPI
		r, err := prepare(r)
		if err != nil {
			items[i].Err = err
			continue
		}
		at := eventTime(r, now)
		if r.IdempotencyKey != "" {
			fps[i] = fingerprint(r)
			if j, ok := first[r.IdempotencyKey]; ok {
				if fps[j] != fps[i] {
					items[i].Err = &webhook.Error{Code: webhook.EConflict, Field: "Idempotency-Key",
						Message: fmt.Sprintf("this idempotency key is already used by events[%d] of this batch, with a different event", j)}
				} else {
					same[i] = j
				}
				continue
			}
			first[r.IdempotencyKey] = i
		}
		ps[i] = &pending{r: r, at: at}
	}

	s.claim(ctx, ps, fps, items, now)
	var fan []*pending
	for _, p := range ps {
		if p != nil {
			fan = append(fan, p)
		}
	}
	s.fanOut(ctx, fan, now)

	var g errgroup.Group
	g.SetLimit(keyConcurrency)
	for i, p := range ps {
		if p == nil {
			continue
		}
		if p.err != nil {
			items[i].Err = s.unfinished(ctx, p.r, p.eventID, p.at, now, p.err, true)
			continue
		}
		items[i].Result = webhook.TriggerResult{EventID: p.eventID, Deliveries: p.n}
		if p.r.IdempotencyKey != "" {
			g.Go(func() error {
				if err := s.keys.CompleteIdempotencyKey(ctx, p.r.IdempotencyKey, p.n); err != nil {
					// As in Trigger: the deliveries are enqueued; a repeat
					// finds the record unfinished and enqueues the same ids.
					s.log.WarnContext(ctx, "complete idempotency key", "event_id", p.eventID, "error", err)
				}
				return nil
			})
		}
	}
	g.Wait()
	for i, j := range same {
		items[i] = items[j]
	}
	results, errs := make([]webhook.TriggerResult, len(reqs)), make([]error, len(reqs))
	for i, it := range items {
		results[i], errs[i] = it.Result, it.Err
	}
	return results, errs, nil
}

// item is the answer to one event of a batch.
type item struct {
	Result webhook.TriggerResult
	Err    error
}

// claim fixes the ids of each pending request of a batch: random for one
// without a key; for one with a key, the key's (claimed now, or by an
// unfinished earlier try). A key already done answers its first result and
// a key used with another request a conflict: their ps[i] become nil.
func (s *Service) claim(ctx context.Context, ps []*pending, fps []string, items []item, now time.Time) {
	var g errgroup.Group
	g.SetLimit(keyConcurrency)
	for i, p := range ps {
		if p == nil {
			continue
		}
		if p.r.IdempotencyKey == "" {
			p.eventID = webhook.NewID(webhook.EventIDPrefix)
			continue
		}
		g.Go(func() error {
			rec := webhook.IdempotencyRecord{
				Key: p.r.IdempotencyKey, Fingerprint: fps[i],
				EventID: webhook.NewID(webhook.EventIDPrefix), EventTime: p.at,
				CreatedAt: now, ExpiresAt: now.Add(IdempotencyTTL),
			}
			prev, claimed, err := s.keys.ClaimIdempotencyKey(ctx, rec)
			switch {
			case err != nil:
				items[i].Err = s.unfinished(ctx, p.r, "", p.at, now, fmt.Errorf("claim idempotency key: %w", err), true)
			case !claimed && prev.Fingerprint != rec.Fingerprint:
				items[i].Err = &webhook.Error{Code: webhook.EConflict, Field: "Idempotency-Key",
					Message: "this idempotency key was already used with a different request"}
			case !claimed && prev.Done:
				items[i].Result = webhook.TriggerResult{EventID: prev.EventID, Deliveries: prev.Deliveries}
			default:
				if !claimed {
					rec = prev // a first try that did not finish: finish it, with its ids
				}
				p.eventID, p.at = rec.EventID, rec.EventTime
				return nil
			}
			ps[i] = nil
			return nil
		})
	}
	g.Wait()
}
