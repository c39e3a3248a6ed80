package webhook

import "time"

// Secret rotation of hmac webhooks: the secret a rotation replaced stays
// valid beside the new one for an overlap, so receivers can switch without
// missing a delivery.
const (
	DefaultPreviousValidFor = 24 * time.Hour
	MaxPreviousValidFor     = 7 * 24 * time.Hour
)

// PreviousSecret is the hmac secret a rotation replaced. Deliveries are
// signed with it too until ExpiresAt; after that it is ignored, and the next
// write of the webhook drops it. At most one is kept: a rotation during an
// overlap replaces it with the secret it rotates away from.
type PreviousSecret struct {
	// Sealed is the previous secret sealed as credentials are ({"secret":
	// ...}, the replaced SealedCredentials of the webhook).
	Sealed    []byte
	ExpiresAt time.Time
	// Secret is the opened secret, in memory only (for a delivery); it is
	// never stored or returned.
	Secret string
}

// PreviousAt returns w's previous secret if it is still valid at now, else
// nil.
func (w *Webhook) PreviousAt(now time.Time) *PreviousSecret {
	if w.Previous == nil || !now.Before(w.Previous.ExpiresAt) {
		return nil
	}
	return w.Previous
}

// DropExpiredPrevious forgets w's previous secret when it is no longer
// valid at now, so a read shows no overlap and a write stores none.
func (w *Webhook) DropExpiredPrevious(now time.Time) {
	w.Previous = w.PreviousAt(now)
}
