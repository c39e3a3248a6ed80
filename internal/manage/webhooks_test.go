package manage

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/devtools/fake"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

const minimal = `{"name":"n","url":"https://example.com/","events":["custom"]}`

func TestCreate(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		mod   func(*Options)
		check func(t *testing.T, f *fixture, w *webhook.Webhook, reveal map[string]string)
	}{
		{"defaults", minimal, nil, func(t *testing.T, f *fixture, w *webhook.Webhook, reveal map[string]string) {
			assert.True(t, webhook.ValidID(webhook.WebhookIDPrefix, w.ID))
			assert.Equal(t, "POST", w.Method)
			assert.Equal(t, map[string]string{}, w.Headers)
			assert.Equal(t, webhook.StatusActive, w.Status)
			assert.Equal(t, webhook.AuthNone, w.AuthType)
			assert.Equal(t, webhook.DefaultRetryPolicy(), w.Retry)
			assert.Equal(t, int64(30000), w.TimeoutMS)
			assert.Equal(t, int64(1), w.Version)
			assert.Equal(t, fixedNow.Truncate(time.Millisecond), w.CreatedAt)
			assert.Equal(t, w.CreatedAt, w.UpdatedAt)
			assert.Empty(t, w.MaskedCredentials)
			assert.Nil(t, reveal)
			assert.Zero(t, f.secrets.Seals(), "no credentials, nothing sealed")
		}},
		{"default timeout from the options", minimal, func(o *Options) { o.DefaultTimeout = 5 * time.Second },
			func(t *testing.T, _ *fixture, w *webhook.Webhook, _ map[string]string) {
				assert.Equal(t, int64(5000), w.TimeoutMS)
			}},
		{"null is not given", `{"name":"n","url":"https://example.com/","events":["custom"],"method":null,"headers":null,"retry":null,"timeout_ms":null,"auth_credentials":null}`, nil,
			func(t *testing.T, _ *fixture, w *webhook.Webhook, _ map[string]string) {
				assert.Equal(t, "POST", w.Method)
				assert.Equal(t, int64(30000), w.TimeoutMS)
			}},
		{"partial retry takes the other defaults", `{"name":"n","url":"https://example.com/","events":["custom"],"retry":{"max_attempts":7}}`, nil,
			func(t *testing.T, _ *fixture, w *webhook.Webhook, _ map[string]string) {
				assert.Equal(t, 7, w.Retry.MaxAttempts)
				assert.Equal(t, webhook.StrategyExponential, w.Retry.Strategy)
				assert.Equal(t, int64(60000), w.Retry.MaxDelayMS)
			}},
		{"credentials sealed and masked", `{"name":"n","url":"https://example.com/","events":["custom"],"auth_type":"bearer","auth_credentials":{"token":"secret123"}}`, nil,
			func(t *testing.T, f *fixture, w *webhook.Webhook, reveal map[string]string) {
				assert.Nil(t, reveal, "a given credential is not shown back")
				assert.Equal(t, map[string]string{"token": "se****"}, w.MaskedCredentials)
				stored := f.store.Webhook(w.ID)
				assert.Nil(t, stored.Credentials, "no plaintext is stored")
				creds, err := f.secrets.Open(context.Background(), w.ID, stored.SealedCredentials)
				require.NoError(t, err)
				assert.Equal(t, map[string]string{"token": "secret123"}, creds)
			}},
		{"hmac without a secret gets one, shown once", `{"name":"n","url":"https://example.com/","events":["custom"],"auth_type":"hmac"}`, nil,
			func(t *testing.T, f *fixture, w *webhook.Webhook, reveal map[string]string) {
				secret := reveal["secret"]
				require.True(t, strings.HasPrefix(secret, "whsec_"), secret)
				assert.Equal(t, map[string]string{"secret": "wh****"}, w.MaskedCredentials)
				creds, err := f.secrets.Open(context.Background(), w.ID, f.store.Webhook(w.ID).SealedCredentials)
				require.NoError(t, err)
				assert.Equal(t, secret, creds["secret"], "the secret shown is the one sealed")
			}},
		{"api-key without header_name shows the default header", `{"name":"n","url":"https://example.com/","events":["custom"],"auth_type":"api-key","auth_credentials":{"api_key":"k-123456"}}`, nil,
			func(t *testing.T, f *fixture, w *webhook.Webhook, _ map[string]string) {
				assert.Equal(t, map[string]string{"api_key": "k-****", "header_name": "X-API-Key"}, w.MaskedCredentials)
				creds, err := f.secrets.Open(context.Background(), w.ID, f.store.Webhook(w.ID).SealedCredentials)
				require.NoError(t, err)
				assert.Equal(t, map[string]string{"api_key": "k-123456", "header_name": "X-API-Key"}, creds, "sent in the header shown")
			}},
		{"api-key with header_name keeps it", `{"name":"n","url":"https://example.com/","events":["custom"],"auth_type":"api-key","auth_credentials":{"api_key":"k-123456","header_name":"X-Key"}}`, nil,
			func(t *testing.T, _ *fixture, w *webhook.Webhook, _ map[string]string) {
				assert.Equal(t, map[string]string{"api_key": "k-****", "header_name": "X-Key"}, w.MaskedCredentials)
			}},
		{"private target allowed by the options", `{"name":"n","url":"http://127.0.0.1:9000/hook","events":["custom"]}`, func(o *Options) { o.AllowPrivate = true },
			func(t *testing.T, _ *fixture, w *webhook.Webhook, _ map[string]string) {
				assert.Equal(t, "http://127.0.0.1:9000/hook", w.URL)
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mods []func(*Options)
			if tt.mod != nil {
				mods = append(mods, tt.mod)
			}
			f := newFixture(t, mods...)
			w, reveal, err := f.svc.Create(context.Background(), members(t, tt.body))
			require.NoError(t, err)
			assert.Nil(t, w.Credentials, "plaintext goes no further than the seal")
			got, err := f.svc.Get(context.Background(), w.ID)
			require.NoError(t, err)
			assert.Equal(t, w, got, "what Create answers is what was stored")
			tt.check(t, f, w, reveal)
		})
	}
}

func TestCreateRefused(t *testing.T) {
	tests := []struct{ name, body, field string }{
		{"unknown member", `{"name":"n","url":"https://example.com/","events":["custom"],"colour":"red"}`, "colour"},
		{"version is not a create's", `{"name":"n","url":"https://example.com/","events":["custom"],"version":1}`, "version"},
		{"missing name", `{"url":"https://example.com/","events":["custom"]}`, "name"},
		{"null name", `{"name":null,"url":"https://example.com/","events":["custom"]}`, "name"},
		{"wrong type", `{"name":5,"url":"https://example.com/","events":["custom"]}`, "name"},
		{"wrong type in retry", `{"name":"n","url":"https://example.com/","events":["custom"],"retry":{"max_attempts":"3"}}`, "retry.max_attempts"},
		{"unknown retry member", `{"name":"n","url":"https://example.com/","events":["custom"],"retry":{"jitter":true}}`, "retry.jitter"},
		{"retry not an object", `{"name":"n","url":"https://example.com/","events":["custom"],"retry":[1]}`, "retry"},
		{"header not a string", `{"name":"n","url":"https://example.com/","events":["custom"],"headers":{"X-A":1}}`, "headers"},
		{"credential not a string", `{"name":"n","url":"https://example.com/","events":["custom"],"auth_type":"bearer","auth_credentials":{"token":1}}`, "auth_credentials.token"},
		{"private target", `{"name":"n","url":"http://10.0.0.1/","events":["custom"]}`, "url"},
		{"credentials for none", `{"name":"n","url":"https://example.com/","events":["custom"],"auth_credentials":{"token":"x"}}`, "auth_credentials"},
		{"bearer without token", `{"name":"n","url":"https://example.com/","events":["custom"],"auth_type":"bearer"}`, "auth_credentials.token"},
		{"timeout too big", `{"name":"n","url":"https://example.com/","events":["custom"],"timeout_ms":120001}`, "timeout_ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			_, _, err := f.svc.Create(context.Background(), members(t, tt.body))
			assertCode(t, err, webhook.EInvalid, tt.field)
			assert.Zero(t, f.store.Len(), "nothing stored")
			assert.Zero(t, f.secrets.Seals(), "nothing sealed")
		})
	}
}

func TestGetMalformedIDIsNotFoundWithoutARead(t *testing.T) {
	f := newFixture(t)
	w := f.create(t, minimal)
	calls := f.store.Calls()
	ctx := context.Background()
	for _, id := range []string{"nope", "wh_", "wh_XYZ", "evt_0123456789abcdef0123456789abcdef", w.ID + "0", strings.ToUpper(w.ID)} {
		_, err := f.svc.Get(ctx, id)
		assertCode(t, err, webhook.ENotFound, "")
		_, _, err = f.svc.Patch(ctx, id, Members{}, 0)
		assertCode(t, err, webhook.ENotFound, "")
		assertCode(t, f.svc.Delete(ctx, id, 0), webhook.ENotFound, "")
		_, err = f.svc.Pause(ctx, id, false)
		assertCode(t, err, webhook.ENotFound, "")
		_, err = f.svc.Stats(ctx, id)
		assertCode(t, err, webhook.ENotFound, "")
		_, err = f.svc.Test(ctx, id)
		assertCode(t, err, webhook.ENotFound, "")
		_, err = f.svc.Retry(ctx, id, "dlv_0123456789abcdef0123456789abcdef")
		assertCode(t, err, webhook.ENotFound, "")
	}
	assert.Equal(t, calls, f.store.Calls(), "malformed ids never reach the store")
	_, err := f.svc.Get(ctx, "wh_0123456789abcdef0123456789abcdef")
	assertCode(t, err, webhook.ENotFound, "")
}

func TestPatch(t *testing.T) {
	const start = `{"name":"n","url":"https://example.com/","events":["custom"],"headers":{"X-A":"1","X-B":"2"},
		"retry":{"strategy":"fixed","max_attempts":4},"auth_type":"api-key","auth_credentials":{"api_key":"key-1","header_name":"X-Key"}}`
	tests := []struct {
		name    string
		patch   string
		version int64 // the version sent; the webhook is at 1
		code    string
		field   string
		check   func(t *testing.T, f *fixture, before, after *webhook.Webhook, reveal map[string]string)
	}{
		{name: "rename and pause", patch: `{"name":"New Name","status":"inactive"}`,
			check: func(t *testing.T, _ *fixture, before, after *webhook.Webhook, _ map[string]string) {
				assert.Equal(t, "New Name", after.Name)
				assert.Equal(t, webhook.StatusInactive, after.Status)
				assert.Equal(t, int64(2), after.Version)
				assert.Equal(t, before.URL, after.URL, "absent members are unchanged")
				assert.Equal(t, before.Headers, after.Headers)
				assert.Equal(t, before.CreatedAt, after.CreatedAt)
			}},
		{name: "with the version read", patch: `{"name":"v"}`, version: 1,
			check: func(t *testing.T, _ *fixture, _, after *webhook.Webhook, _ map[string]string) {
				assert.Equal(t, "v", after.Name)
				assert.Equal(t, int64(2), after.Version)
			}},
		{name: "headers replaced whole", patch: `{"headers":{"X-C":"3"}}`,
			check: func(t *testing.T, _ *fixture, _, after *webhook.Webhook, _ map[string]string) {
				assert.Equal(t, map[string]string{"X-C": "3"}, after.Headers)
			}},
		{name: "retry merges, null resets a member", patch: `{"retry":{"max_attempts":9,"strategy":null}}`,
			check: func(t *testing.T, _ *fixture, _, after *webhook.Webhook, _ map[string]string) {
				assert.Equal(t, 9, after.Retry.MaxAttempts)
				assert.Equal(t, webhook.StrategyExponential, after.Retry.Strategy)
			}},
		{name: "null restores the defaults", patch: `{"method":null,"timeout_ms":null,"headers":null,"retry":null}`,
			check: func(t *testing.T, _ *fixture, _, after *webhook.Webhook, _ map[string]string) {
				assert.Equal(t, "POST", after.Method)
				assert.Equal(t, int64(30000), after.TimeoutMS)
				assert.Equal(t, map[string]string{}, after.Headers)
				assert.Equal(t, webhook.DefaultRetryPolicy(), after.Retry)
			}},
		{name: "empty patch writes nothing", patch: `{}`,
			check: func(t *testing.T, _ *fixture, before, after *webhook.Webhook, _ map[string]string) {
				assert.Equal(t, before, after)
			}},
		{name: "unchanged credentials stay sealed", patch: `{"name":"renamed"}`,
			check: func(t *testing.T, f *fixture, before, after *webhook.Webhook, _ map[string]string) {
				assert.Equal(t, before.SealedCredentials, after.SealedCredentials)
				assert.Equal(t, map[string]string{"api_key": "ke****", "header_name": "X-Key"}, after.MaskedCredentials)
			}},
		{name: "new credentials replace the old", patch: `{"auth_type":"bearer","auth_credentials":{"token":"tok-2"}}`,
			check: func(t *testing.T, f *fixture, _, after *webhook.Webhook, _ map[string]string) {
				creds, err := f.secrets.Open(context.Background(), after.ID, f.store.Webhook(after.ID).SealedCredentials)
				require.NoError(t, err)
				assert.Equal(t, map[string]string{"token": "tok-2"}, creds)
				assert.Equal(t, map[string]string{"token": "to****"}, after.MaskedCredentials)
			}},
		{name: "new api-key credentials without header_name show the default", patch: `{"auth_credentials":{"api_key":"key-2"}}`,
			check: func(t *testing.T, _ *fixture, _, after *webhook.Webhook, _ map[string]string) {
				assert.Equal(t, map[string]string{"api_key": "ke****", "header_name": "X-API-Key"}, after.MaskedCredentials)
			}},
		{name: "switch to hmac generates a secret", patch: `{"auth_type":"hmac"}`,
			check: func(t *testing.T, f *fixture, _, after *webhook.Webhook, reveal map[string]string) {
				require.True(t, strings.HasPrefix(reveal["secret"], "whsec_"), reveal)
				creds, err := f.secrets.Open(context.Background(), after.ID, f.store.Webhook(after.ID).SealedCredentials)
				require.NoError(t, err)
				assert.Equal(t, reveal, creds)
			}},
		{name: "switch to none drops the credentials", patch: `{"auth_type":"none"}`,
			check: func(t *testing.T, f *fixture, _, after *webhook.Webhook, _ map[string]string) {
				assert.Empty(t, f.store.Webhook(after.ID).SealedCredentials)
				assert.Empty(t, after.MaskedCredentials)
			}},
		{name: "stale version", patch: `{"name":"x"}`, version: 7, code: webhook.EConflict},
		{name: "unknown member", patch: `{"nam":"x"}`, code: webhook.EInvalid, field: "nam"},
		{name: "version is the caller's, not a member", patch: `{"version":1}`, code: webhook.EInvalid, field: "version"},
		{name: "null required member", patch: `{"events":null}`, code: webhook.EInvalid, field: "events"},
		{name: "wrong type", patch: `{"timeout_ms":"1"}`, code: webhook.EInvalid, field: "timeout_ms"},
		{name: "invalid result", patch: `{"url":"http://192.168.0.1/"}`, code: webhook.EInvalid, field: "url"},
		{name: "header clashing with the stored api key header", patch: `{"headers":{"x-key":"other"}}`, code: webhook.EInvalid, field: "headers"},
		{name: "new auth type needs its credentials", patch: `{"auth_type":"bearer"}`, code: webhook.EInvalid, field: "auth_credentials"},
		{name: "credentials of another type", patch: `{"auth_credentials":{"token":"t"}}`, code: webhook.EInvalid, field: "auth_credentials.token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			before := f.create(t, start)
			snap := f.store.Snapshot()
			after, reveal, err := f.svc.Patch(context.Background(), before.ID, members(t, tt.patch), tt.version)
			if tt.code != "" {
				assertCode(t, err, tt.code, tt.field)
				assert.Equal(t, snap, f.store.Snapshot(), "nothing changed")
				return
			}
			require.NoError(t, err)
			assert.Nil(t, after.Credentials)
			stored := f.store.Webhook(before.ID)
			assert.Equal(t, after, stored, "the answer is what was stored")
			tt.check(t, f, before, after, reveal)
		})
	}
}

func TestDelete(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	w := f.create(t, minimal)
	keep := f.create(t, minimal)

	assertCode(t, f.svc.Delete(ctx, w.ID, 9), webhook.EConflict, "")
	assert.Equal(t, 2, f.store.Len(), "a stale version deletes nothing")
	require.NoError(t, f.svc.Delete(ctx, w.ID, 0))
	assert.Equal(t, 1, f.store.Len())
	assertCode(t, f.svc.Delete(ctx, w.ID, 0), webhook.ENotFound, "")
	_, err := f.svc.Get(ctx, w.ID)
	assertCode(t, err, webhook.ENotFound, "")
	require.NoError(t, f.svc.Delete(ctx, keep.ID, 1))
	assert.Zero(t, f.store.Len())
}

func TestPauseResume(t *testing.T) {
	tests := []struct {
		name    string
		set     func(s *Service) func(context.Context, string) (*webhook.Webhook, error)
		from    webhook.Status
		want    webhook.Status
		version int64
	}{
		{"pause", func(s *Service) func(context.Context, string) (*webhook.Webhook, error) { return plainPause(s) }, webhook.StatusActive, webhook.StatusInactive, 2},
		{"pause paused", func(s *Service) func(context.Context, string) (*webhook.Webhook, error) { return plainPause(s) }, webhook.StatusInactive, webhook.StatusInactive, 1},
		{"resume", func(s *Service) func(context.Context, string) (*webhook.Webhook, error) { return s.Resume }, webhook.StatusInactive, webhook.StatusActive, 2},
		{"resume active", func(s *Service) func(context.Context, string) (*webhook.Webhook, error) { return s.Resume }, webhook.StatusActive, webhook.StatusActive, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			w := f.create(t, fmt.Sprintf(`{"name":"n","url":"https://example.com/","events":["custom"],"status":%q}`, tt.from))
			got, err := tt.set(f.svc)(context.Background(), w.ID)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got.Status)
			assert.Equal(t, tt.version, got.Version, "the same status changes nothing")
			assert.Equal(t, got, f.store.Webhook(w.ID))
		})
	}
}

func TestStats(t *testing.T) {
	f := newFixture(t)
	w := f.create(t, minimal)
	last := time.Date(2024, 2, 3, 4, 5, 6, 0, time.UTC)
	want := webhook.Stats{TotalDeliveries: 4, Successful: 3, Failed: 1, LastDeliveryAt: &last}
	f.store.SetStats(w.ID, want)
	got, err := f.svc.Stats(context.Background(), w.ID)
	require.NoError(t, err)
	assert.Equal(t, want, got)
	_, err = f.svc.Stats(context.Background(), "wh_0123456789abcdef0123456789abcdef")
	assertCode(t, err, webhook.ENotFound, "")
}

// racingStore lets another writer win each time the service writes, races
// times, between the service's read and its write.
type racingStore struct {
	*fake.Store
	mu    sync.Mutex
	races int
}

func (s *racingStore) UpdateWebhook(ctx context.Context, w *webhook.Webhook) error {
	s.mu.Lock()
	race := s.races > 0
	if race {
		s.races--
	}
	s.mu.Unlock()
	if race {
		other, err := s.Store.GetWebhook(ctx, w.ID)
		if err != nil {
			return err
		}
		other.Name = "other writer"
		if err := s.Store.UpdateWebhook(ctx, other); err != nil {
			return err
		}
	}
	return s.Store.UpdateWebhook(ctx, w)
}

func TestUpdateWithoutVersionIsReapplied(t *testing.T) {
	tests := []struct {
		name    string
		races   int
		version int64
		update  func(ctx context.Context, s *Service, id string) (*webhook.Webhook, error)
		code    string
		check   func(t *testing.T, w *webhook.Webhook)
	}{
		{name: "patch merged onto the winner's state", races: 5,
			update: func(ctx context.Context, s *Service, id string) (*webhook.Webhook, error) {
				w, _, err := s.Patch(ctx, id, Members{"timeout_ms": []byte(`2000`)}, 0)
				return w, err
			},
			check: func(t *testing.T, w *webhook.Webhook) {
				assert.Equal(t, "other writer", w.Name)
				assert.Equal(t, int64(2000), w.TimeoutMS)
				assert.Equal(t, int64(1+5+1), w.Version)
			}},
		{name: "pause", races: 5,
			update: func(ctx context.Context, s *Service, id string) (*webhook.Webhook, error) {
				return s.Pause(ctx, id, false)
			},
			check: func(t *testing.T, w *webhook.Webhook) {
				assert.Equal(t, webhook.StatusInactive, w.Status)
			}},
		{name: "with a version a lost race is the client's", races: 1, version: 1,
			update: func(ctx context.Context, s *Service, id string) (*webhook.Webhook, error) {
				w, _, err := s.Patch(ctx, id, Members{"timeout_ms": []byte(`2000`)}, 1)
				return w, err
			},
			code: webhook.EConflict},
		{name: "a writer that always wins ends in a conflict, not a loop", races: 1 << 20,
			update: func(ctx context.Context, s *Service, id string) (*webhook.Webhook, error) {
				w, _, err := s.Patch(ctx, id, Members{"timeout_ms": []byte(`2000`)}, 0)
				return w, err
			},
			code: webhook.EConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs := &racingStore{Store: fake.NewStore()}
			f := newFixture(t, func(o *Options) { o.Store = rs })
			f.store = rs.Store
			w := f.create(t, minimal)
			rs.races = tt.races
			got, err := tt.update(context.Background(), f.svc, w.ID)
			if tt.code != "" {
				assertCode(t, err, tt.code, "")
				assert.NotEqual(t, int64(2000), f.store.Webhook(w.ID).TimeoutMS, "not written")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, got, f.store.Webhook(w.ID))
			tt.check(t, got)
		})
	}
}

// The re-applies back off, jittered, and stop at the deadline, on the
// service's clock.
func TestReapplyBacksOffUntilTheDeadline(t *testing.T) {
	for _, jitter := range []float64{0, 0.999} {
		t.Run(fmt.Sprint(jitter), func(t *testing.T) {
			rs := &racingStore{Store: fake.NewStore(), races: 1 << 20}
			clock := fake.NewClock(fixedNow)
			var waits []time.Duration
			f := newFixture(t, func(o *Options) {
				o.Store = rs
				o.Jitter = func() float64 { return jitter }
				o.Sleep = func(ctx context.Context, d time.Duration) error {
					waits = append(waits, d)
					return clock.Sleep(ctx, d)
				}
				o.Clock = clock.Now
			})
			w := f.create(t, minimal)
			start := clock.Now()
			_, _, err := f.svc.Patch(context.Background(), w.ID, Members{"name": []byte(`"mine"`)}, 0)
			assertCode(t, err, webhook.EConflict, "")
			assert.Contains(t, webhook.ErrorMessage(err), "kept changing")

			require.Greater(t, len(waits), 10, "re-applied many times, not three")
			assert.LessOrEqual(t, clock.Now().Sub(start), DefaultReapplyFor, "never past the deadline")
			assert.Greater(t, clock.Now().Sub(start), DefaultReapplyFor-reapplyCap, "up to the deadline")
			for i, d := range waits {
				assert.GreaterOrEqual(t, d, reapplyBase/2, "wait %d", i)
				assert.LessOrEqual(t, d, reapplyCap, "wait %d", i)
				if i > 0 {
					assert.GreaterOrEqual(t, d, waits[i-1], "waits grow (wait %d)", i)
				}
			}
			assert.Equal(t, reapplyCap/2+time.Duration(jitter*float64(reapplyCap/2)), waits[len(waits)-1], "capped")
		})
	}
}

// A client that goes away stops the re-applies.
func TestReapplyStopsWithTheContext(t *testing.T) {
	rs := &racingStore{Store: fake.NewStore(), races: 1 << 20}
	ctx, cancel := context.WithCancel(context.Background())
	f := newFixture(t, func(o *Options) {
		o.Store = rs
		o.Sleep = func(ctx context.Context, d time.Duration) error {
			cancel()
			return ctx.Err()
		}
	})
	w := f.create(t, minimal)
	_, _, err := f.svc.Patch(ctx, w.ID, Members{"name": []byte(`"mine"`)}, 0)
	require.ErrorIs(t, err, context.Canceled)
}

// concurrentPatches runs n patches of w without a version at once, each
// renaming it, and checks that every one succeeded and was written once.
func concurrentPatches(t *testing.T, svc *Service, id string, n int) {
	t.Helper()
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, _, errs[i] = svc.Patch(context.Background(), id, Members{"name": []byte(fmt.Sprintf(`"writer %d"`, i))}, 0)
		})
	}
	wg.Wait()
	for i, err := range errs {
		assert.NoError(t, err, "writer %d", i)
	}
	w, err := svc.Get(context.Background(), id)
	require.NoError(t, err)
	assert.Equal(t, int64(1+n), w.Version, "each patch written once")
	assert.Regexp(t, `^writer \d+$`, w.Name)
}

// Twenty clients patch one webhook at once, none with a version: all
// succeed. The store's reads take a while, so the writers read the same
// version and race; synctest's clock makes the waits cost nothing.
func TestConcurrentPatchesWithoutVersionAllSucceed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := fake.NewStore()
		store.ReadDelay = 5 * time.Millisecond
		svc, err := New(Options{Store: store, Secrets: &fake.Secrets{}, Mask: fake.Mask, GenerateSecret: fake.GenerateSecret})
		require.NoError(t, err)
		w, _, err := svc.Create(context.Background(), members(t, minimal))
		require.NoError(t, err)
		reads := store.WebhookReads()

		concurrentPatches(t, svc, w.ID, 20)
		assert.Greater(t, store.WebhookReads()-reads, 2*20, "the writers did race (re-reads)")
	})
}

func TestStatsSeries(t *testing.T) {
	f := newFixture(t)
	w := f.create(t, minimal)
	hour := f.clock.Now().UTC().Truncate(time.Hour)
	f.store.SetStats(w.ID, webhook.Stats{Successful: 3, Hours: []webhook.HourStats{
		{Start: hour, Succeeded: 2}, {Start: hour.Add(-30 * time.Hour), Failed: 1},
	}})
	st, series, err := f.svc.StatsSeries(context.Background(), w.ID, 24*time.Hour)
	require.NoError(t, err)
	assert.Equal(t, int64(3), st.Successful)
	require.Len(t, series, 24)
	assert.Equal(t, int64(2), series[23].Succeeded)
	_, series, err = f.svc.StatsSeries(context.Background(), w.ID, 7*24*time.Hour)
	require.NoError(t, err)
	assert.Equal(t, int64(1), series[webhook.StatsHours-31].Failed)
	_, _, err = f.svc.StatsSeries(context.Background(), "wh_0123456789abcdef0123456789abcdef", 24*time.Hour)
	assertCode(t, err, webhook.ENotFound, "")
}

// plainPause is Pause without hold.
func plainPause(s *Service) func(context.Context, string) (*webhook.Webhook, error) {
	return func(ctx context.Context, id string) (*webhook.Webhook, error) { return s.Pause(ctx, id, false) }
}
