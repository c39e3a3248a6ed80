package main

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/cleanup"
	"github.com/systemprompt-io/webhooks/internal/lambdatest"
	"github.com/systemprompt-io/webhooks/internal/store"
	"github.com/systemprompt-io/webhooks/internal/testenv"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// The built bootstrap, under the Lambda runtime interface emulator, sweeps
// the test emulator's deliveries table when invoked with the sample
// schedule event, and answers with the sweep's result.
func TestBootstrapSweepsOnScheduleEvent(t *testing.T) {
	ctx := context.Background()
	kumo := testenv.Kumo(t)
	sfx := uuid.NewString()[:8]
	tables := store.Tables{Webhooks: "fn-cl-wh-" + sfx, Deliveries: "fn-cl-dl-" + sfx}
	require.NoError(t, store.CreateTables(ctx, kumo.Clients.DynamoDB, tables))
	st := store.New(kumo.Clients.DynamoDB, tables, store.WithRetentionDays(30))

	// The function runs on the real clock, so the deliveries are dated from now.
	now := time.Now().UTC()
	wh := webhook.NewID(webhook.WebhookIDPrefix)
	save := func(age time.Duration, evt string) *webhook.Delivery {
		created := now.Add(-age)
		d := &webhook.Delivery{
			ID: webhook.DeliveryIDFor(evt, wh, created), WebhookID: wh, EventID: evt,
			Event: "agent.completed", Status: webhook.DeliverySucceeded, CreatedAt: created,
			Attempts: []webhook.Attempt{{Attempt: 1, StartedAt: created, StatusCode: 200, DurationMS: 12}},
		}
		require.NoError(t, st.SaveAttempt(ctx, d))
		return d
	}
	var expired, fresh []*webhook.Delivery
	for i, days := range []int{31, 45, 200} {
		expired = append(expired, save(time.Duration(days)*24*time.Hour, "evt_old"+string(rune('a'+i))))
	}
	for i, days := range []int{0, 1, 29} {
		fresh = append(fresh, save(time.Duration(days)*24*time.Hour, "evt_new"+string(rune('a'+i))))
	}

	fn := lambdatest.Start(t, lambdatest.Build(t, "./functions/cleanup"), map[string]string{
		"TABLE_DELIVERIES":  tables.Deliveries,
		"RETENTION_DAYS":    "30",
		"DYNAMODB_ENDPOINT": testenv.KumoURL(),
		"LOG_LEVEL":         "info",
	})
	out, err := fn.InvokeFile(t, "../../events/cleanup-schedule.json")
	if r := fn.Reports(); len(r) > 0 {
		t.Logf("init %s, first invoke %s", r[0].Init, r[0].Duration)
	}
	require.NoError(t, err, fn.Output())

	var res cleanup.Result
	require.NoError(t, json.Unmarshal(out, &res), string(out))
	assert.Equal(t, len(expired), res.Deleted, string(out))
	assert.True(t, res.Complete)
	assert.Equal(t, cleanup.DefaultLookbackDays+1, res.Days, "first run: looks back, then keeps a cursor")
	assert.NotEmpty(t, res.SweptThrough)
	assert.Contains(t, fn.Output(), `"msg":"cleanup done"`, "logs the sweep as JSON")
	assert.Contains(t, fn.Output(), `"deleted":3`)

	for _, d := range expired {
		_, err := st.GetDelivery(ctx, d.WebhookID, d.ID)
		assert.Equal(t, webhook.ENotFound, webhook.ErrorCode(err), "created %s", d.CreatedAt)
	}
	for _, d := range fresh {
		_, err := st.GetDelivery(ctx, d.WebhookID, d.ID)
		assert.NoError(t, err, "created %s", d.CreatedAt)
	}

	// A second invocation resumes from the cursor: one day, nothing to delete.
	out, err = fn.InvokeFile(t, "../../events/cleanup-schedule.json")
	require.NoError(t, err, fn.Output())
	require.NoError(t, json.Unmarshal(out, &res), string(out))
	assert.Equal(t, 0, res.Deleted)
	assert.LessOrEqual(t, res.Days, 2, "the cutoff day (and the one before, had midnight passed since)")
}

// With a bad setting the function stops at start, and says which.
func TestBootstrapRefusesBadConfig(t *testing.T) {
	fn := lambdatest.Start(t, lambdatest.Build(t, "./functions/cleanup"), map[string]string{
		"RETENTION_DAYS":    "0",
		"DYNAMODB_ENDPOINT": testenv.KumoURL(),
	})
	_, err := fn.InvokeFile(t, "../../events/cleanup-schedule.json")
	require.Error(t, err)
	assert.Contains(t, fn.Output(), "RETENTION_DAYS")
}
