package main

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/devtools/testenv"
	"github.com/systemprompt-io/webhooks/internal/store"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

func TestParseMaxDeliveries(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
		bad  bool
	}{
		{"", DefaultMaxDeliveries, false},
		{" 500 ", 500, false},
		{"0", 0, false},
		{"-1", 0, true},
		{"lots", 0, true},
	} {
		got, err := parseMaxDeliveries(tc.in)
		if tc.bad {
			assert.ErrorContains(t, err, "LOCAL_MAX_DELIVERIES", tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.want, got, tc.in)
	}
}

func TestTrimKeepsTheNewest(t *testing.T) {
	ctx := context.Background()
	b := testenv.Kumo(t)
	s := uuid.NewString()[:8]
	tables := store.Tables{Webhooks: "wh-" + s, Deliveries: "dl-" + s}
	require.NoError(t, store.CreateTables(ctx, b.Clients.DynamoDB, tables))
	st := store.New(b.Clients.DynamoDB, tables)
	at := time.Now().UTC().Truncate(time.Millisecond)
	var ids []string
	for i := range 30 {
		wh := webhook.NewID(webhook.WebhookIDPrefix) // deleted webhooks' records count too
		created := at.Add(time.Duration(i) * time.Millisecond)
		d := &webhook.Delivery{ID: webhook.DeliveryIDFor("evt_x", wh, created), WebhookID: wh, EventID: "evt_x",
			Event: "custom", CreatedAt: created, SeriesStart: 1, Status: webhook.DeliverySucceeded,
			Attempts: []webhook.Attempt{{Attempt: 1, StartedAt: created, StatusCode: 200}}}
		require.NoError(t, st.SaveAttempt(ctx, d))
		ids = append(ids, d.ID)
	}
	tr := &trimmer{store: st, max: 10, log: slog.New(slog.DiscardHandler)}
	n, err := tr.trim(ctx)
	require.NoError(t, err)
	assert.Equal(t, 20, n)
	left, err := st.DeliveryKeysBeyond(ctx, 0)
	require.NoError(t, err)
	var got []string
	for _, k := range left {
		got = append(got, k.ID)
	}
	assert.ElementsMatch(t, ids[20:], got, "the 10 newest stay")

	n, err = (&trimmer{store: st, max: 0, log: tr.log}).trim(ctx)
	require.NoError(t, err)
	assert.Zero(t, n, "0: no bound")
}

func TestTrimRunsOnEveryTickAndTheSweepAtItsInterval(t *testing.T) {
	start := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	sweeps := 0
	sweep := func(context.Context, events.EventBridgeEvent) error { sweeps++; return nil }
	tr := &trimmer{max: 0}
	fn, every := tr.every(start, 24*time.Hour, sweep)
	assert.Equal(t, 24*time.Hour, every, "no bound: the sweep's own schedule")
	require.NoError(t, fn(context.Background(), events.EventBridgeEvent{Time: start.Add(24 * time.Hour)}))
	assert.Equal(t, 1, sweeps)

	ctx := context.Background()
	b := testenv.Kumo(t)
	s := uuid.NewString()[:8]
	tables := store.Tables{Webhooks: "wh-" + s, Deliveries: "dl-" + s}
	require.NoError(t, store.CreateTables(ctx, b.Clients.DynamoDB, tables))
	tr = &trimmer{store: store.New(b.Clients.DynamoDB, tables), max: 10, log: slog.New(slog.DiscardHandler)}
	sweeps = 0
	fn, every = tr.every(start, 24*time.Hour, sweep)
	assert.Equal(t, trimEvery, every)
	for tick := start.Add(trimEvery); tick.Before(start.Add(25 * time.Hour)); tick = tick.Add(time.Hour) {
		require.NoError(t, fn(ctx, events.EventBridgeEvent{Time: tick}))
	}
	assert.Equal(t, 1, sweeps, "the sweep once a day, not on every trim")
}
