package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// memStore is an in-memory Store with the real store's semantics: versions
// start at 1 and move on each update, a stale version is EConflict, a
// missing webhook ENotFound. It counts calls so tests can check that
// garbage ids never reach it.
type memStore struct {
	mu    sync.Mutex
	items map[string]*webhook.Webhook
	stats map[string]webhook.Stats
	calls int
	fail  error // when set, every call returns it
}

var _ Store = (*memStore)(nil)

func newMemStore() *memStore {
	return &memStore{items: map[string]*webhook.Webhook{}, stats: map[string]webhook.Stats{}}
}

func stored(w *webhook.Webhook) *webhook.Webhook {
	c := clone(w)
	c.Credentials = nil // the real store never writes plaintext
	return c
}

func (s *memStore) enter() error {
	s.mu.Lock()
	s.calls++
	return s.fail
}

func (s *memStore) CreateWebhook(_ context.Context, w *webhook.Webhook) error {
	defer s.mu.Unlock()
	if err := s.enter(); err != nil {
		return err
	}
	if _, ok := s.items[w.ID]; ok {
		return webhook.Errorf(webhook.EConflict, "exists")
	}
	w.Version = 1
	s.items[w.ID] = stored(w)
	return nil
}

func (s *memStore) GetWebhook(_ context.Context, id string) (*webhook.Webhook, error) {
	defer s.mu.Unlock()
	if err := s.enter(); err != nil {
		return nil, err
	}
	w, ok := s.items[id]
	if !ok {
		return nil, webhook.Errorf(webhook.ENotFound, "webhook %s not found", id)
	}
	return clone(w), nil
}

func (s *memStore) ListWebhooks(_ context.Context, f webhook.ListFilter) (webhook.Page[*webhook.Webhook], error) {
	defer s.mu.Unlock()
	var page webhook.Page[*webhook.Webhook]
	if err := s.enter(); err != nil {
		return page, err
	}
	ids := slices.Sorted(maps.Keys(s.items))
	start := 0
	if f.Cursor != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(f.Cursor, "c"))
		if err != nil || !strings.HasPrefix(f.Cursor, "c") {
			return page, webhook.Invalid("cursor", "cursor is malformed")
		}
		start = n
	}
	var match []*webhook.Webhook
	for _, id := range ids {
		w := s.items[id]
		if (f.Status == "" || w.Status == f.Status) && (f.Event == "" || w.Subscribes(f.Event)) {
			match = append(match, clone(w))
		}
	}
	if start > len(match) {
		start = len(match)
	}
	end := min(start+f.Limit, len(match))
	page.Items = match[start:end]
	if end < len(match) {
		page.NextCursor = fmt.Sprintf("c%d", end)
	}
	return page, nil
}

func (s *memStore) UpdateWebhook(_ context.Context, w *webhook.Webhook) error {
	defer s.mu.Unlock()
	if err := s.enter(); err != nil {
		return err
	}
	cur, ok := s.items[w.ID]
	if !ok {
		return webhook.Errorf(webhook.ENotFound, "webhook %s not found", w.ID)
	}
	if cur.Version != w.Version {
		return webhook.Errorf(webhook.EConflict, "stale")
	}
	w.Version++
	s.items[w.ID] = stored(w)
	return nil
}

func (s *memStore) DeleteWebhook(_ context.Context, id string) error {
	defer s.mu.Unlock()
	if err := s.enter(); err != nil {
		return err
	}
	if _, ok := s.items[id]; !ok {
		return webhook.Errorf(webhook.ENotFound, "webhook %s not found", id)
	}
	delete(s.items, id)
	delete(s.stats, id)
	return nil
}

func (s *memStore) GetStats(_ context.Context, id string) (webhook.Stats, error) {
	defer s.mu.Unlock()
	if err := s.enter(); err != nil {
		return webhook.Stats{}, err
	}
	return s.stats[id], nil
}

// snapshot is the store's content as comparable JSON, to check that a refused
// request changed nothing.
func (s *memStore) snapshot() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := slices.Sorted(maps.Keys(s.items))
	var b strings.Builder
	for _, id := range ids {
		j, _ := json.Marshal(s.items[id])
		b.Write(j)
		b.WriteByte('\n')
	}
	return b.String()
}

func (s *memStore) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.items)
}

func (s *memStore) callCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// fakeSecrets "seals" by JSON-encoding behind a prefix bound to the webhook
// id, so a test can open what was stored and a mix-up of ids fails.
type fakeSecrets struct {
	mu    sync.Mutex
	seals int
	opens int
}

var _ Secrets = (*fakeSecrets)(nil)

func (f *fakeSecrets) Seal(_ context.Context, id string, creds map[string]string) ([]byte, error) {
	f.mu.Lock()
	f.seals++
	f.mu.Unlock()
	b, err := json.Marshal(creds)
	return append([]byte("sealed:"+id+":"), b...), err
}

func (f *fakeSecrets) Open(_ context.Context, id string, sealed []byte) (map[string]string, error) {
	f.mu.Lock()
	f.opens++
	f.mu.Unlock()
	rest, ok := strings.CutPrefix(string(sealed), "sealed:"+id+":")
	if !ok {
		return nil, errors.New("sealed for another webhook")
	}
	var m map[string]string
	err := json.Unmarshal([]byte(rest), &m)
	return m, err
}

// fakeMask keeps header_name and the first two characters of the rest.
func fakeMask(creds map[string]string) map[string]string {
	out := make(map[string]string, len(creds))
	for k, v := range creds {
		if k == "header_name" {
			out[k] = v
			continue
		}
		out[k] = v[:min(2, len(v))] + "****"
	}
	return out
}

// fakeGenerate returns predictable secrets.
func fakeGenerate(r io.Reader) (string, error) {
	b := make([]byte, 8)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", err
	}
	return fmt.Sprintf("whsec_%x", b), nil
}

// counterReader yields 0, 1, 2, ... so generated secrets differ and repeat
// across runs.
type counterReader struct{ n byte }

func (c *counterReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = c.n
		c.n++
	}
	return len(p), nil
}

func sortedKeys(m map[string]string) []string {
	k := slices.Collect(maps.Keys(m))
	sort.Strings(k)
	return k
}
