package manage

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/delivery"
	"github.com/systemprompt-io/webhooks/internal/devtools/fake"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

var fixedNow = time.Date(2024, 1, 1, 12, 0, 0, 123456789, time.UTC)

// fixture is a Service on the shared fakes, at a clock that moves only when
// the service sleeps.
type fixture struct {
	svc     *Service
	store   *fake.Store
	secrets *fake.Secrets
	clock   *fake.Clock
	queue   *fake.Queue
	tester  *recordingTester
}

func newFixture(t *testing.T, mods ...func(*Options)) *fixture {
	t.Helper()
	f := &fixture{store: fake.NewStore(), secrets: &fake.Secrets{}, clock: fake.NewClock(fixedNow),
		queue: &fake.Queue{}, tester: &recordingTester{}}
	o := Options{
		Store:          f.store,
		Secrets:        f.secrets,
		Mask:           fake.Mask,
		GenerateSecret: fake.GenerateSecret,
		Deliveries:     f.store,
		Jobs:           f.queue,
		Tester:         f.tester,
		Clock:          f.clock.Now,
		Sleep:          f.clock.Sleep,
		Jitter:         func() float64 { return 0.5 },
		Rand:           &fake.Counter{},
	}
	for _, m := range mods {
		m(&o)
	}
	svc, err := New(o)
	require.NoError(t, err)
	f.svc = svc
	return f
}

// recordingTester answers every test send as a success and keeps the
// webhooks it was given.
type recordingTester struct{ got []*webhook.Webhook }

func (r *recordingTester) Test(_ context.Context, w *webhook.Webhook) (*delivery.TestResult, error) {
	r.got = append(r.got, w)
	return &delivery.TestResult{Success: true, Delivery: &webhook.Delivery{WebhookID: w.ID, Test: true}}, nil
}

// members parses a JSON object as a request's members.
func members(t *testing.T, body string) Members {
	t.Helper()
	var m Members
	require.NoError(t, json.Unmarshal([]byte(body), &m), body)
	return m
}

// create makes a webhook from body, which must succeed.
func (f *fixture) create(t *testing.T, body string) *webhook.Webhook {
	t.Helper()
	w, _, err := f.svc.Create(context.Background(), members(t, body))
	require.NoError(t, err, body)
	return w
}

// assertCode checks an error's code and field.
func assertCode(t *testing.T, err error, code, field string) {
	t.Helper()
	require.Error(t, err)
	assert.Equal(t, code, webhook.ErrorCode(err), "%v", err)
	assert.Equal(t, field, webhook.ErrorField(err), "%v", err)
}

func TestNewRequiresDependencies(t *testing.T) {
	_, err := New(Options{})
	require.Error(t, err)
	for _, s := range []string{"Store", "Secrets", "Mask", "GenerateSecret"} {
		assert.Contains(t, err.Error(), s)
	}
}
