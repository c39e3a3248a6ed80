package main

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/guregu/dynamo/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/cleanup"
	"github.com/systemprompt-io/webhooks/internal/devtools/lambdatest"
	"github.com/systemprompt-io/webhooks/internal/devtools/testenv"
	"github.com/systemprompt-io/webhooks/internal/store"
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
	// Build and start the function before any record exists: building may
	// take long on a loaded machine, and nothing here may wait on it.
	fn := lambdatest.Start(t, lambdatest.Build(t, "./functions/cleanup"), map[string]string{
		"TABLE_WEBHOOKS":     tables.Webhooks,
		"TABLE_DELIVERIES":   tables.Deliveries,
		"RETENTION_DAYS":     "30",
		"CLEANUP_GRACE_DAYS": "2",
		"DYNAMODB_ENDPOINT":  testenv.KumoURL(),
		"LOG_LEVEL":          "info",
	})
	require.NoError(t, store.CreateTables(ctx, kumo.Clients.DynamoDB, tables))
	// The function sweeps on the real clock, so what it must delete has an
	// expires_at days past on the real clock too, where kumo's TTL reaper
	// (every 30 s, at its own moment) would delete it first. TTL off keeps
	// the records for the sweep: they are what TTL left behind.
	testenv.StopTTL(t, kumo.Clients.DynamoDB, store.TTLAttribute, tables.Webhooks, tables.Deliveries)
	// The deliveries are dated from now; they are written by a store whose
	// clock is a year back, when all were within retention, and read by one
	// on the real clock.
	now := time.Now().UTC()
	writer := store.New(kumo.Clients.DynamoDB, tables, store.WithRetentionDays(30),
		store.WithClock(func() time.Time { return now.AddDate(-1, 0, 0) }))
	st := store.New(kumo.Clients.DynamoDB, tables, store.WithRetentionDays(30))
	wh := webhook.NewID(webhook.WebhookIDPrefix)
	require.NoError(t, dynamo.NewFromIface(kumo.Clients.DynamoDB).Table(tables.Webhooks).Put(map[string]any{
		"pk": "wh#" + wh, "sk": "config", "kind": "webhook", "id": wh, "wh_status": "active",
	}).Run(ctx))
	save := func(age time.Duration, evt string) *webhook.Delivery {
		created := now.Add(-age)
		d := &webhook.Delivery{
			ID: webhook.DeliveryIDFor(evt, wh, created), WebhookID: wh, EventID: evt,
			Event: "agent.completed", Status: webhook.DeliverySucceeded, CreatedAt: created,
			Attempts: []webhook.Attempt{{Attempt: 1, StartedAt: created, StatusCode: 200, DurationMS: 12}},
		}
		require.NoError(t, writer.SaveAttempt(ctx, d))
		return d
	}
	var expired, fresh []*webhook.Delivery
	for i, days := range []int{33, 45, 200} {
		expired = append(expired, save(time.Duration(days)*24*time.Hour, "evt_old"+string(rune('a'+i))))
	}
	// Past retention but within the 2 days' grace: left to TTL, yet hidden.
	graced := save(31*24*time.Hour, "evt_grace")
	for i, days := range []int{0, 1, 29} {
		fresh = append(fresh, save(time.Duration(days)*24*time.Hour, "evt_new"+string(rune('a'+i))))
	}

	out, err := fn.InvokeFile(t, "../../events/cleanup-schedule.json")
	if r := fn.Reports(); len(r) > 0 {
		t.Logf("init %s, first invoke %s", r[0].Init, r[0].Duration)
	}
	require.NoError(t, err, fn.Output())

	var res cleanup.Result
	require.NoError(t, json.Unmarshal(out, &res), string(out))
	assert.Equal(t, len(expired), res.Deleted, string(out))
	assert.True(t, res.Complete)
	assert.Equal(t, 1, res.Webhooks)
	assert.Equal(t, 4, res.Calls.Total(), "cursor, webhook ids, the webhook's deliveries, one batch")
	assert.Contains(t, fn.Output(), `"msg":"cleanup done"`, "logs the sweep as JSON")
	assert.Contains(t, fn.Output(), `"deleted":3`)

	for _, d := range expired {
		_, err := st.GetDelivery(ctx, d.WebhookID, d.ID)
		assert.Equal(t, webhook.ENotFound, webhook.ErrorCode(err), "created %s", d.CreatedAt)
	}
	_, err = st.GetDelivery(ctx, graced.WebhookID, graced.ID)
	assert.Equal(t, webhook.ENotFound, webhook.ErrorCode(err), "hidden past retention")
	_, err = writer.GetDelivery(ctx, graced.WebhookID, graced.ID)
	assert.NoError(t, err, "but not deleted within the grace")
	for _, d := range fresh {
		_, err := st.GetDelivery(ctx, d.WebhookID, d.ID)
		assert.NoError(t, err, "created %s", d.CreatedAt)
	}

	// A second invocation finds nothing left to delete.
	out, err = fn.InvokeFile(t, "../../events/cleanup-schedule.json")
	require.NoError(t, err, fn.Output())
	require.NoError(t, json.Unmarshal(out, &res), string(out))
	assert.Equal(t, 0, res.Deleted)
	assert.Equal(t, cleanup.Calls{GetItem: 1, Query: 2}, res.Calls)
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
