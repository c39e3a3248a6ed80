package delivery

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/devtools/fake"
	"github.com/systemprompt-io/webhooks/internal/safehttp"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// expiredStore is a store whose deliveries are all past their retention:
// SaveAttempt refuses them as internal/store does.
type expiredStore struct{ *fake.Store }

func (s expiredStore) SaveAttempt(_ context.Context, d *webhook.Delivery) error {
	return webhook.Errorf(webhook.ENotFound, "delivery %s is past its retention", d.ID)
}

// A job for a delivery past its retention is dropped: nothing recorded,
// counted or scheduled, and no error (SQS would only redeliver it).
func TestRunExpiredDeliveryDropsJob(t *testing.T) {
	f := newFixture(t, 500)
	a, err := NewAttempter(expiredStore{f.store}, &fake.Secrets{}, f.queue, Options{
		Client: safehttp.NewClient(safehttp.Options{AllowPrivate: true}),
		Now:    func() time.Time { return f.now }, Rand: func() float64 { return 0.5 }, Log: quiet,
	})
	require.NoError(t, err)
	d, err := a.Run(context.Background(), f.job(1), false)
	require.NoError(t, err)
	assert.Zero(t, d, "counts nothing")
	assert.Zero(t, f.store.Deliveries())
	assert.Empty(t, f.queue.Sent, "no next attempt of a 500")
}
