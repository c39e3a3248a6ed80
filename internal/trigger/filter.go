package trigger

import (
	"context"
	"sync"

	"github.com/systemprompt-io/webhooks/internal/filter"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// matching returns the ids of subs whose payload filter p's event passes, in
// their order. The event is decoded once (doc), and only if a subscriber has
// a filter; each filter is compiled once per process (filters), not per
// event.
//
// A filter that cannot be applied (a stored filter this version refuses, an
// event the decoder refuses: neither can come from the API, which checks
// both) fails open: the event is delivered and the failure logged, since a
// delivery the receiver did not want does less harm than an event lost
// without a trace.
func (s *Service) matching(ctx context.Context, p *pending, subs []webhook.Subscription, doc *lazyDocument) []string {
	ids := make([]string, 0, len(subs))
	for _, sub := range subs {
		if sub.Filter == "" {
			ids = append(ids, sub.WebhookID)
			continue
		}
		f, err := s.filters.get(sub.Filter)
		if err != nil {
			s.log.ErrorContext(ctx, "stored filter refused; delivering unfiltered", "webhook_id", sub.WebhookID, "error", err)
			ids = append(ids, sub.WebhookID)
			continue
		}
		d, err := doc.of(p)
		if err != nil {
			s.log.ErrorContext(ctx, "event not decodable for filters; delivering unfiltered", "event_id", p.eventID, "webhook_id", sub.WebhookID, "error", err)
			ids = append(ids, sub.WebhookID)
			continue
		}
		if f.MatchDocument(d) {
			ids = append(ids, sub.WebhookID)
		}
	}
	return ids
}

// documents are the decoded events of fan-outs, reused: once grown to the
// size of the events, decoding one allocates nothing.
var documents = sync.Pool{New: func() any { return new(filter.Document) }}

// lazyDocument decodes the event of the request being fanned out the first
// time a filter needs it, into one Document taken from the pool for the
// whole fan-out (every subscriber, every request of a batch).
type lazyDocument struct {
	d     *filter.Document
	owner *pending
	err   error
}

func (l *lazyDocument) of(p *pending) (*filter.Document, error) {
	if l.owner == p {
		return l.d, l.err
	}
	if l.d == nil {
		l.d = documents.Get().(*filter.Document)
	}
	l.owner, l.err = p, l.d.Reset(p.r.Event, p.r.Data, p.r.Metadata)
	return l.d, l.err
}

// release returns the Document to the pool.
func (l *lazyDocument) release() {
	if l.d != nil {
		documents.Put(l.d)
		l.d, l.owner = nil, nil
	}
}

// maxCachedFilters bounds the compiled filters a process keeps (each at most
// filter.MaxSize of text); past it the cache starts over.
const maxCachedFilters = 4096

// filterCache holds compiled filters by their canonical text, which the
// store keeps on each subscription: a filter changed by an update has
// another text, so nothing cached goes stale.
type filterCache struct {
	mu sync.Mutex
	m  map[string]*filter.Filter
}

func (c *filterCache) get(text string) (*filter.Filter, error) {
	c.mu.Lock()
	f, ok := c.m[text]
	c.mu.Unlock()
	if ok {
		return f, nil
	}
	f, err := filter.Parse([]byte(text))
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxCachedFilters {
		c.m = make(map[string]*filter.Filter)
	}
	c.m[text] = f
	c.mu.Unlock()
	return f, nil
}
