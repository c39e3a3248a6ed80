package cli

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/systemprompt-io/webhooks/internal/wait"
)

// recoveryDTO is a bulk recovery as the API shows it.
type recoveryDTO struct {
	ID             string     `json:"id"`
	WebhookID      string     `json:"webhook_id"`
	Status         string     `json:"status"`
	Since          time.Time  `json:"since"`
	RequestedSince time.Time  `json:"requested_since"`
	Until          time.Time  `json:"until"`
	Scanned        int64      `json:"scanned"`
	Queued         int64      `json:"queued"`
	Skipped        int64      `json:"skipped"`
	CreatedAt      time.Time  `json:"created_at"`
	CompletedAt    *time.Time `json:"completed_at"`
}

// recoverCommand is `webhooks recover ID --since 24h [--until ...]`: POST
// /webhooks/{id}/recover, then GET the recovery every --interval, a
// progress line each time it moved, until it is done.
func (a *app) recoverCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "recover ID --since 24h|TIME [--until 1h|TIME]",
		Short: "Re-send every failed delivery of a time window (bulk recovery) and follow it",
		Long: "Re-send every failed delivery of a webhook whose event time is in the window: each becomes\n" +
			"a new attempt series under its delivery id, as `retry` does, at most once per recovery. The\n" +
			"service works through the window in the background; this command prints a progress line\n" +
			"until it is done (--no-wait: only start it). --since and --until take an RFC 3339 time or a\n" +
			"duration before now (24h, 90m); --until defaults to now. A window starting before retention\n" +
			"starts at the oldest delivery kept, and the first line says so. There is no count limit.",
		Args: idArgs,
	}
	f := cmd.Flags()
	f.String("since", "", "start of the window: an RFC 3339 time or a duration before now, like 24h (required)")
	f.String("until", "", "end of the window: an RFC 3339 time or a duration before now (default: now)")
	f.Duration("interval", 2*time.Second, "how often to read the progress")
	f.Bool("no-wait", false, "start the recovery and return without following it")
	addFormatFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		format, err := outputFormat(cmd)
		if err != nil {
			return err
		}
		if !cmd.Flags().Changed("since") {
			return usageError("--since is required: an RFC 3339 time or a duration before now, like 24h")
		}
		now := a.env.Now()
		body := map[string]any{}
		for _, name := range []string{"since", "until"} {
			v, _ := cmd.Flags().GetString(name)
			if !cmd.Flags().Changed(name) {
				continue
			}
			t, err := pointInTime(now, v)
			if err != nil {
				return usageError("--%s: %v", name, err)
			}
			body[name] = t.UTC().Format(time.RFC3339Nano)
		}
		interval, _ := cmd.Flags().GetDuration("interval")
		if interval <= 0 {
			return usageError("--interval must be more than 0")
		}
		resp, err := a.call(cmd, request{method: http.MethodPost, path: webhookPath(args[0], "recover"), body: body})
		if err != nil {
			return err
		}
		var r recoveryDTO
		if err := decode(resp.Body, &r); err != nil {
			return err
		}
		out := cmd.OutOrStdout()
		noWait, _ := cmd.Flags().GetBool("no-wait")
		if format != formatJSON {
			fmt.Fprintf(out, "Recovery %s of webhook %s: failed deliveries from %s to %s\n",
				r.ID, r.WebhookID, r.Since.UTC().Format(time.RFC3339Nano), r.Until.UTC().Format(time.RFC3339Nano))
			if !r.Since.Equal(r.RequestedSince) {
				fmt.Fprintf(out, "(--since moved from %s: nothing older is kept)\n", r.RequestedSince.UTC().Format(time.RFC3339Nano))
			}
		}
		last := resp.Body
		for !noWait && r.Status != "done" {
			if err := wait.Sleep(cmd.Context(), interval); err != nil {
				return err
			}
			prev := r
			resp, err := a.call(cmd, request{method: http.MethodGet, path: webhookPath(args[0], "recoveries", r.ID)})
			if err != nil {
				return err
			}
			if err := decode(resp.Body, &r); err != nil {
				return err
			}
			last = resp.Body
			if format != formatJSON && r.Status != "done" && r != prev {
				fmt.Fprintf(out, "%s: %s\n", r.Status, progress(r))
			}
		}
		if format == formatJSON {
			return a.print(cmd, format, last, nil)
		}
		if r.Status == "done" {
			_, err = fmt.Fprintf(out, "done: %s\n", progress(r))
		} else {
			_, err = fmt.Fprintf(out, "running: follow it with GET /webhooks/%s/recoveries/%s\n", r.WebhookID, r.ID)
		}
		return err
	}
	return cmd
}

func progress(r recoveryDTO) string {
	return fmt.Sprintf("%d scanned, %d queued, %d skipped", r.Scanned, r.Queued, r.Skipped)
}

// pointInTime reads an RFC 3339 time, or a duration before now.
func pointInTime(now time.Time, s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time nor a duration before now (like 24h)", s)
	}
	return now.Add(-d), nil
}
