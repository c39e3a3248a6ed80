package cli

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// table writes aligned columns.
type table struct{ tw *tabwriter.Writer }

func newTable(w io.Writer) *table {
	return &table{tw: tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)}
}

func (t *table) row(cells ...string) {
	fmt.Fprintln(t.tw, strings.Join(cells, "\t"))
}

func (t *table) flush() error { return t.tw.Flush() }

// when shows a time both relative to now and absolute (UTC), e.g.
// "2m ago (2026-11-28 16:04:05Z)".
func when(now time.Time, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return relative(now, t) + " (" + t.UTC().Format("2006-01-02 15:04:05Z") + ")"
}

func whenPtr(now time.Time, t *time.Time) string {
	if t == nil {
		return "never"
	}
	return when(now, *t)
}

func relative(now, t time.Time) string {
	d := now.Sub(t)
	future := d < 0
	if future {
		d = -d
	}
	var s string
	switch {
	case d < time.Second:
		return "just now"
	case d < time.Minute:
		s = fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		s = fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 24*time.Hour:
		s = fmt.Sprintf("%dh", int(d/time.Hour))
	default:
		s = fmt.Sprintf("%dd", int(d/(24*time.Hour)))
	}
	if future {
		return "in " + s
	}
	return s + " ago"
}

// percent shows a rate in [0,1] as a percentage: 0.3 → "30.0%".
func percent(rate float64) string { return strconv.FormatFloat(rate*100, 'f', 1, 64) + "%" }

// millis shows milliseconds as a duration: 1500 → "1.5s", 60000 → "1m0s".
func millis(ms int64) string { return (time.Duration(ms) * time.Millisecond).String() }

// pairs shows a map as sorted key=value pairs.
func pairs[V any](m map[string]V, sep string) string {
	if len(m) == 0 {
		return "-"
	}
	var b strings.Builder
	for i, k := range slices.Sorted(maps.Keys(m)) {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s%s%v", k, sep, m[k])
	}
	return b.String()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func writeWebhookTable(w io.Writer, now time.Time, items []webhookDTO) error {
	t := newTable(w)
	t.row("ID", "NAME", "STATUS", "HEALTH", "EVENTS", "URL", "CREATED")
	for _, h := range items {
		t.row(h.ID, h.Name, statusText(h), healthShort(h.Health), strings.Join(h.Events, ","), h.URL, when(now, h.CreatedAt))
	}
	return t.flush()
}

func writeWebhook(w io.Writer, now time.Time, h webhookDTO) error {
	t := newTable(w)
	t.row("ID", h.ID)
	t.row("Name", h.Name)
	t.row("URL", h.URL)
	t.row("Method", h.Method)
	t.row("Status", statusText(h))
	if h.Health.Circuit != "" {
		t.row("Health", healthLong(now, h.Health))
	}
	t.row("Events", strings.Join(h.Events, ", "))
	auth := orDash(h.AuthType)
	if len(h.AuthCredentials) > 0 {
		auth += " (" + pairs(h.AuthCredentials, "=") + ")"
	}
	t.row("Auth", auth)
	if h.PreviousSecretExpiresAt != nil {
		t.row("Rotation", "the previous secret signs too until "+when(now, *h.PreviousSecretExpiresAt))
	}
	t.row("Headers", pairs(h.Headers, ": "))
	attempts := "attempts"
	if h.Retry.MaxAttempts == 1 {
		attempts = "attempt"
	}
	t.row("Retry", fmt.Sprintf("%s, %d %s, initial delay %s, max delay %s",
		h.Retry.Strategy, h.Retry.MaxAttempts, attempts, millis(h.Retry.InitialDelayMS), millis(h.Retry.MaxDelayMS)))
	t.row("Timeout", millis(h.TimeoutMS))
	if f := string(h.Filter); f != "" && f != "null" {
		t.row("Filter", f)
	}
	if h.RateLimit != nil {
		t.row("Limit", rateLimitText(h.RateLimit))
	}
	if h.Version != 0 {
		t.row("Version", strconv.FormatInt(h.Version, 10))
	}
	t.row("Created", when(now, h.CreatedAt))
	t.row("Updated", when(now, h.UpdatedAt))
	return t.flush()
}

// lastAttempt returns the most recent attempt of d, if any.
func lastAttempt(d deliveryDTO) (attemptDTO, bool) {
	if len(d.Attempts) == 0 {
		return attemptDTO{}, false
	}
	return d.Attempts[len(d.Attempts)-1], true
}

func writeDeliveryTable(w io.Writer, now time.Time, items []deliveryDTO) error {
	t := newTable(w)
	t.row("ID", "EVENT", "STATUS", "ATTEMPTS", "LAST CODE", "LAST DURATION", "CREATED")
	for _, d := range items {
		code, dur := "-", "-"
		if a, ok := lastAttempt(d); ok {
			if a.StatusCode != 0 {
				code = strconv.Itoa(a.StatusCode)
			}
			dur = strconv.FormatInt(a.DurationMS, 10) + "ms"
		}
		event := d.Event
		if d.Test {
			event += " (test)"
		}
		t.row(d.ID, event, d.Status, strconv.Itoa(len(d.Attempts)), code, dur, when(now, d.CreatedAt))
	}
	return t.flush()
}

func writeDelivery(w io.Writer, now time.Time, d deliveryDTO) error {
	t := newTable(w)
	t.row("ID", d.ID)
	t.row("Webhook", d.WebhookID)
	if d.EventID != "" {
		t.row("Event ID", d.EventID)
	}
	event := d.Event
	if d.Test {
		event += " (test)"
	}
	t.row("Event", event)
	t.row("Status", d.Status)
	t.row("Attempts", strconv.Itoa(len(d.Attempts)))
	t.row("Created", when(now, d.CreatedAt))
	if d.NextAttemptAt != nil {
		t.row("Next attempt", whenPtr(now, d.NextAttemptAt))
	}
	if d.CompletedAt != nil {
		t.row("Completed", whenPtr(now, d.CompletedAt))
	}
	if err := t.flush(); err != nil {
		return err
	}
	if len(d.Attempts) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	t = newTable(w)
	t.row("ATTEMPT", "STARTED", "CODE", "DURATION", "TIMINGS", "ERROR", "RESPONSE")
	for _, a := range d.Attempts {
		code := "-"
		if a.StatusCode != 0 {
			code = strconv.Itoa(a.StatusCode)
		}
		t.row(strconv.Itoa(a.Attempt), when(now, a.StartedAt), code, strconv.FormatInt(a.DurationMS, 10)+"ms",
			timingsText(a.Timings), orDash(oneLine(a.Error)), orDash(excerpt(a.ResponseBody, 60)))
	}
	return t.flush()
}

// writeTestResult shows the endpoint's answer to a test delivery. A failed
// endpoint is not an error of the command: the Success row says it.
func writeTestResult(w io.Writer, r testResultDTO) error {
	t := newTable(w)
	success := "yes"
	if !r.Success {
		success = "no: " + orDash(oneLine(r.Error))
	}
	t.row("Success", success)
	status := "-"
	if r.StatusCode != 0 {
		status = strconv.Itoa(r.StatusCode)
	}
	t.row("Status", status)
	t.row("Duration", strconv.FormatInt(r.DurationMS, 10)+"ms")
	t.row("Response", orDash(excerpt(r.ResponseBody, 100)))
	t.row("Delivery", r.Delivery.ID)
	return t.flush()
}

// excerpt shortens s to one line of at most n runes.
func excerpt(s string, n int) string {
	s = oneLine(s)
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

func writeStats(w io.Writer, now time.Time, s statsDTO) error {
	t := newTable(w)
	t.row("Total deliveries", strconv.FormatInt(s.TotalDeliveries, 10))
	t.row("Successful", strconv.FormatInt(s.Successful, 10))
	t.row("Failed", strconv.FormatInt(s.Failed, 10))
	// With no deliveries there is no rate and no average: the API's 0 would
	// read as "all failed" and "instant".
	rate, avg := "-", "-"
	if s.TotalDeliveries > 0 {
		rate, avg = percent(s.SuccessRate), strconv.FormatFloat(s.AvgResponseMS, 'f', 0, 64)+"ms"
	}
	t.row("Success rate", rate)
	t.row("Avg response", avg)
	t.row("Held now", strconv.FormatInt(s.Held, 10))
	t.row("Last delivery", whenPtr(now, s.LastDeliveryAt))
	t.row("Last success", whenPtr(now, s.LastSuccessAt))
	t.row("Last failure", whenPtr(now, s.LastFailureAt))
	return t.flush()
}

func writeEventTypes(w io.Writer, items []eventTypeDTO) error {
	t := newTable(w)
	t.row("EVENT", "DESCRIPTION")
	for _, e := range items {
		t.row(e.Name, e.Description)
	}
	return t.flush()
}
