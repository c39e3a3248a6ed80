package manage

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/devtools/fake"
	"github.com/systemprompt-io/webhooks/internal/devtools/testenv"
	"github.com/systemprompt-io/webhooks/internal/store"
)

// The real store serves the service's interfaces.
var (
	_ Store      = (*store.Store)(nil)
	_ Deliveries = (*store.Store)(nil)
)

// Twenty clients patch one webhook at once on the real store, none with a
// version: all succeed (the store's own optimistic concurrency makes them
// race; before re-applying with backoff, half of them or more answered 409).
//
// The deadline is raised from DefaultReapplyFor: it only stops a writer
// that never wins, and on a loaded test machine (twenty writers and the
// emulator on two cores) the contest alone can take seconds of wall time.
// What this shows is that contention ends in success; the deadline has its
// own test on the service's clock.
func TestBackendConcurrentPatchesWithoutVersionAllSucceed(t *testing.T) {
	for _, b := range testenv.DynamoBackends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			s := uuid.NewString()[:8]
			tables := store.Tables{Webhooks: "manage-wh-" + s, Deliveries: "manage-dl-" + s}
			require.NoError(t, store.CreateTables(ctx, b.Clients.DynamoDB, tables))
			svc, err := New(Options{
				Store: store.New(b.Clients.DynamoDB, tables), Secrets: &fake.Secrets{},
				Mask: fake.Mask, GenerateSecret: fake.GenerateSecret,
				ReapplyFor: time.Minute,
			})
			require.NoError(t, err)
			w, _, err := svc.Create(ctx, members(t, minimal))
			require.NoError(t, err)
			start := time.Now()
			concurrentPatches(t, svc, w.ID, 20)
			t.Logf("20 concurrent patches on %s took %s", b.Name, time.Since(start))
		})
	}
}
