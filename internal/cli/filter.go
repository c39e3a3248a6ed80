package cli

import (
	"fmt"
	"net/http"

	"github.com/spf13/cobra"
)

// filterFlagUsage is the help of --filter on create and update.
func filterFlagUsage(create bool) string {
	u := `payload filter as a JSON object, e.g. '{"data":{"amount":{"$gt":100}}}' (docs/filters.md)`
	if !create {
		u += "; 'null' removes it"
	}
	return u
}

// filterBody sets the filter member from --filter, as the JSON given.
func filterBody(cmd *cobra.Command, body map[string]any) error {
	if !cmd.Flags().Changed("filter") {
		return nil
	}
	v, _ := cmd.Flags().GetString("filter")
	raw, err := jsonFlag("filter", v)
	if err != nil {
		return err
	}
	body["filter"] = raw
	return nil
}

// filterTestResult is the answer of POST /webhooks/{id}/filter/test.
type filterTestResult struct {
	Matches bool `json:"matches"`
}

func (a *app) filterTestCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "filter-test ID --event EVENT [--data JSON] [--metadata JSON]",
		Short: "Say whether an event passes a webhook's payload filter (nothing is sent)",
		Long: "Say whether an event passes a webhook's payload filter, as a trigger would decide it.\n" +
			"A webhook without a filter passes every event. Nothing is sent or stored.",
		Args: idArgs,
	}
	f := cmd.Flags()
	f.String("event", "", "event name ('webhooks events' lists them)")
	f.String("data", "", `event data as a JSON object, e.g. '{"amount":150}'`)
	f.String("metadata", "", `metadata as a JSON object, e.g. '{"source":"cli"}'`)
	addFormatFlag(cmd)
	_ = cmd.MarkFlagRequired("event")
	cmd.RunE = callAndShow(a, func(cmd *cobra.Command, args []string) (request, error) {
		event, _ := cmd.Flags().GetString("event")
		body := map[string]any{"event": event}
		for _, name := range []string{"data", "metadata"} {
			if cmd.Flags().Changed(name) {
				v, _ := cmd.Flags().GetString(name)
				raw, err := jsonFlag(name, v)
				if err != nil {
					return request{}, err
				}
				body[name] = raw
			}
		}
		return request{method: http.MethodPost, path: webhookPath(args[0], "filter", "test"), body: body}, nil
	}, func(cmd *cobra.Command, args []string, r filterTestResult) error {
		verdict := "does not match"
		if r.Matches {
			verdict = "matches"
		}
		_, err := fmt.Fprintf(cmd.OutOrStdout(), "The event %s the filter of %s\n", verdict, args[0])
		return err
	})
	return cmd
}
