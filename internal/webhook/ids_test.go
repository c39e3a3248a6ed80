package webhook

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDerivedID(t *testing.T) {
	at := time.Date(2026, 11, 28, 16, 0, 0, 123e6, time.UTC)

	a := DerivedID(DeliveryIDPrefix, at, "evt_1", "wh_1")
	require.True(t, ValidID(DeliveryIDPrefix, a), a)
	assert.Equal(t, a, DerivedID(DeliveryIDPrefix, at, "evt_1", "wh_1"), "same inputs, same id")
	assert.NotEqual(t, a, DerivedID(DeliveryIDPrefix, at, "evt_1", "wh_2"))
	assert.NotEqual(t, DerivedID("x", at, "ab", "c"), DerivedID("x", at, "a", "bc"), "parts are length-prefixed")

	u, err := uuid.Parse(strings.TrimPrefix(a, DeliveryIDPrefix))
	require.NoError(t, err)
	assert.Equal(t, uuid.Version(7), u.Version())
	assert.Equal(t, uuid.RFC4122, u.Variant())

	got, ok := IDTime(DeliveryIDPrefix, a)
	require.True(t, ok)
	assert.Equal(t, at, got)

	later := DerivedID(DeliveryIDPrefix, at.Add(time.Millisecond), "evt_0", "wh_0")
	assert.Less(t, a, later, "ids sort by time")
}

func TestNewIDIsTimeOrdered(t *testing.T) {
	a := NewID(WebhookIDPrefix)
	time.Sleep(2 * time.Millisecond)
	b := NewID(WebhookIDPrefix)
	require.True(t, ValidID(WebhookIDPrefix, a))
	assert.Less(t, a, b)
	ta, ok := IDTime(WebhookIDPrefix, a)
	require.True(t, ok)
	assert.WithinDuration(t, time.Now(), ta, time.Minute)
}

func TestValidID(t *testing.T) {
	for _, tc := range []struct {
		id string
		ok bool
	}{
		{"wh_0193a1b2c3d47e5f8a9b0c1d2e3f4a5b", true},
		{"wh_0193A1B2C3D47E5F8A9B0C1D2E3F4A5B", false},
		{"wh_0193a1b2", false},
		{"dlv_0193a1b2c3d47e5f8a9b0c1d2e3f4a5b", false},
		{"wh_0193a1b2c3d47e5f8a9b0c1d2e3f4a5g", false},
		{"", false},
	} {
		assert.Equal(t, tc.ok, ValidID(WebhookIDPrefix, tc.id), tc.id)
	}
}
