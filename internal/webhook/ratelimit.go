package webhook

// RateLimit bounds how many requests per second reach a webhook's endpoint,
// across every delivery function instance (enforced by internal/delivery
// with a counter in internal/store). A webhook without one (nil) is not
// limited and pays nothing for it.
type RateLimit struct {
	PerSecond int
}

// Bounds of RateLimit.PerSecond. Over 10,000 a second, one counter item
// would exceed what DynamoDB writes to one partition key (1,000 WCU/s),
// long before: a limit that high is no limit in practice.
const (
	MinRatePerSecond = 1
	MaxRatePerSecond = 10000
)

func (w *Webhook) validateRateLimit() error {
	if r := w.RateLimit; r != nil && (r.PerSecond < MinRatePerSecond || r.PerSecond > MaxRatePerSecond) {
		return Invalid("rate_limit.per_second", "rate_limit.per_second must be from %d to %d", MinRatePerSecond, MaxRatePerSecond)
	}
	return nil
}
