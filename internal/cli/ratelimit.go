package cli

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
)

// rateLimitFlagUsage is the help of --rate-limit on create and update.
func rateLimitFlagUsage(create bool) string {
	u := "at most N requests per second to the endpoint, 1 to 10000, across every delivery function instance"
	if create {
		return u + " (default: no limit)"
	}
	return u + "; 0 or 'none' removes the limit"
}

// rateLimitBody sets rate_limit from --rate-limit: {"per_second": N}, or
// null for 0 / none. The range is the service's to judge.
func rateLimitBody(cmd *cobra.Command, body map[string]any) error {
	if !cmd.Flags().Changed("rate-limit") {
		return nil
	}
	v, _ := cmd.Flags().GetString("rate-limit")
	v = strings.TrimSpace(v)
	if strings.EqualFold(v, "none") || v == "0" {
		body["rate_limit"] = nil
		return nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return usageError("--rate-limit %q: want a whole number of requests per second (1 to 10000), or 0 / none for no limit", v)
	}
	body["rate_limit"] = map[string]any{"per_second": n}
	return nil
}

// rateLimitText is a webhook's rate limit as info shows it.
func rateLimitText(r *rateLimitDTO) string {
	if r == nil {
		return "none"
	}
	return fmt.Sprintf("%d requests/s (rate limit)", r.PerSecond)
}

type rateLimitDTO struct {
	PerSecond int `json:"per_second"`
}
