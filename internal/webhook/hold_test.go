package webhook

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestHoldsDeliveries(t *testing.T) {
	for _, tc := range []struct {
		name string
		w    Webhook
		want bool
	}{
		{"paused with hold", Webhook{Status: StatusInactive, StatusReason: ReasonPaused, Hold: true}, true},
		{"paused before reasons were kept, with hold", Webhook{Status: StatusInactive, Hold: true}, true},
		{"plain pause", Webhook{Status: StatusInactive, StatusReason: ReasonPaused}, false},
		{"active (a stale hold)", Webhook{Status: StatusActive, Hold: true}, false},
		{"gone", Webhook{Status: StatusInactive, StatusReason: ReasonGone, Hold: true}, false},
		{"auto-disabled", Webhook{Status: StatusInactive, StatusReason: ReasonAutoDisabled, Hold: true}, false},
	} {
		t.Run(tc.name, func(t *testing.T) { assert.Equal(t, tc.want, tc.w.HoldsDeliveries()) })
	}
}

func TestKnownDeliveryStatus(t *testing.T) {
	for _, s := range DeliveryStatuses {
		assert.True(t, KnownDeliveryStatus(s), s)
	}
	for _, s := range []DeliveryStatus{"", "paused", "HELD", "held "} {
		assert.False(t, KnownDeliveryStatus(s), "%q", s)
	}
}
