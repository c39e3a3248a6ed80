package webhook

import "log/slog"

// LogValue makes slog log a webhook by its identity only: whatever handler
// is used, its credentials (plain, sealed or masked) and headers, which may
// carry secrets too, never reach the logs.
func (w *Webhook) LogValue() slog.Value {
	if w == nil {
		return slog.StringValue("<nil>")
	}
	return slog.GroupValue(
		slog.String("id", w.ID),
		slog.String("name", w.Name),
		slog.String("status", string(w.Status)),
		slog.Int64("version", w.Version),
	)
}

var _ slog.LogValuer = (*Webhook)(nil)
