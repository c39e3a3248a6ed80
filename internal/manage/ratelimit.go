package manage

import (
	"encoding/json"

	"github.com/systemprompt-io/webhooks/internal/webhook"
)

func cloneRate(r *webhook.RateLimit) *webhook.RateLimit {
	if r == nil {
		return nil
	}
	c := *r
	return &c
}

func equalRate(a, b *webhook.RateLimit) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// setRateLimit decodes a rate_limit object, {"per_second": N}, replacing it
// whole; its range is checked by webhook.Validate with the rest.
func setRateLimit(w *webhook.Webhook, raw json.RawMessage) error {
	var o map[string]json.RawMessage
	if err := json.Unmarshal(raw, &o); err != nil || o == nil {
		return webhook.Invalid("rate_limit", `rate_limit must be a JSON object, {"per_second": N}, or null`)
	}
	for k := range o {
		if k != "per_second" {
			return webhook.Invalid("rate_limit."+webhook.Clip(k, 64), "unknown field %q", "rate_limit."+webhook.Clip(k, 64))
		}
	}
	v, ok := o["per_second"]
	if !ok || isNull(v) {
		return webhook.Invalid("rate_limit.per_second", "rate_limit.per_second is required: a whole number from %d to %d",
			webhook.MinRatePerSecond, webhook.MaxRatePerSecond)
	}
	var n int
	if err := DecodeValue("rate_limit.per_second", v, &n); err != nil {
		return err
	}
	w.RateLimit = &webhook.RateLimit{PerSecond: n}
	return nil
}
