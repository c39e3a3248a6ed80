package webhook

import "time"

// DeliveryHeld is a delivery parked while its webhook cannot take it: the
// webhook is paused with hold, auto-disabled, or its circuit is open. The
// record keeps the event; no request is sent and no message waits in SQS.
// A drain makes it pending again, as a fresh attempt series
// (docs/internals.md, "Hold and drain").
const DeliveryHeld DeliveryStatus = "held"

// DeliveryStatuses are every status a delivery can have, in the order the
// API lists them.
var DeliveryStatuses = []DeliveryStatus{DeliveryPending, DeliveryRetrying, DeliveryHeld, DeliverySucceeded, DeliveryFailed}

// KnownDeliveryStatus reports whether s is one of DeliveryStatuses.
func KnownDeliveryStatus(s DeliveryStatus) bool {
	for _, k := range DeliveryStatuses {
		if s == k {
			return true
		}
	}
	return false
}

// HoldsDeliveries reports whether w is paused with hold: its events still
// make deliveries, held until it is resumed.
func (w *Webhook) HoldsDeliveries() bool {
	return w.Status == StatusInactive && w.Reason() == ReasonPaused && w.Hold
}

// Drain is a webhook's drain state (the store's drain item): the drain
// message in charge (Token, until Lease), the lowest id a held record may
// have (From; "" for none), and where the current pass began (Pass).
type Drain struct {
	Token string
	Lease time.Time
	From  string
	Pass  string
}
