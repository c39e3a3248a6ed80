package cli

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// healthDTO is a webhook's endpoint health (read-only).
type healthDTO struct {
	Circuit             string     `json:"circuit"`
	ConsecutiveFailures int64      `json:"consecutive_failures"`
	FailingSince        *time.Time `json:"failing_since"`
	LastSuccessAt       *time.Time `json:"last_success_at"`
	OpenedAt            *time.Time `json:"opened_at"`
	NextProbeAt         *time.Time `json:"next_probe_at"`
}

// timingsDTO is an attempt's split timings in milliseconds; nil: did not
// happen.
type timingsDTO struct {
	DNSMS       *float64 `json:"dns_ms"`
	ConnectMS   *float64 `json:"connect_ms"`
	TLSMS       *float64 `json:"tls_ms"`
	FirstByteMS *float64 `json:"first_byte_ms"`
}

// statusText is a webhook's status with the reason an inactive one has.
func statusText(h webhookDTO) string {
	if h.StatusReason != nil && *h.StatusReason != "" {
		if h.Hold {
			return h.Status + " (" + *h.StatusReason + ", holding deliveries)"
		}
		return h.Status + " (" + *h.StatusReason + ")"
	}
	return h.Status
}

// healthShort is the health column of the webhook list: the circuit, and
// the failures since the last success when there are any.
func healthShort(h healthDTO) string {
	c := orDash(h.Circuit)
	switch n := h.ConsecutiveFailures; {
	case n == 1:
		return c + " (1 failure)"
	case n > 1:
		return c + " (" + strconv.FormatInt(n, 10) + " failures)"
	}
	return c
}

// healthLong is the Health row of a webhook's details.
func healthLong(now time.Time, h healthDTO) string {
	parts := []string{"circuit " + orDash(h.Circuit)}
	if h.OpenedAt != nil {
		parts[0] += " since " + whenPtr(now, h.OpenedAt)
	}
	if h.NextProbeAt != nil {
		parts = append(parts, "next probe "+whenPtr(now, h.NextProbeAt))
	}
	if h.ConsecutiveFailures > 0 {
		f := fmt.Sprintf("%d consecutive failures", h.ConsecutiveFailures)
		if h.FailingSince != nil {
			f += " since " + whenPtr(now, h.FailingSince)
		}
		parts = append(parts, f)
	}
	if h.LastSuccessAt != nil {
		parts = append(parts, "last success "+whenPtr(now, h.LastSuccessAt))
	}
	return strings.Join(parts, "; ")
}

// timingsText shows an attempt's phases: "dns 1.2ms connect 0.4ms tls
// 12.5ms first byte 80.3ms"; "reused" when the connection was; "-" when
// nothing was measured.
func timingsText(t timingsDTO) string {
	var parts []string
	add := func(name string, v *float64) {
		if v != nil {
			parts = append(parts, name+" "+strconv.FormatFloat(*v, 'f', 1, 64)+"ms")
		}
	}
	add("dns", t.DNSMS)
	add("connect", t.ConnectMS)
	add("tls", t.TLSMS)
	if t.ConnectMS == nil && t.FirstByteMS != nil {
		parts = append(parts, "reused")
	}
	add("first byte", t.FirstByteMS)
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, " ")
}
