package cli

import (
	"fmt"
	"net/http"
	"time"

	"github.com/spf13/cobra"
)

// rotateCommand is `webhooks rotate-secret ID`: POST
// /webhooks/{id}/rotate-secret. The answer carries the new secret in full,
// the only time the API shows it, so the table prints it.
func (a *app) rotateCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rotate-secret ID [--secret S] [--previous-valid-for 24h]",
		Short: "Give an hmac webhook a new secret; the old one keeps signing for an overlap",
		Long: "Give an hmac webhook a new secret (--secret, or a generated whsec_ one) and print it: this is\n" +
			"the only time it is shown in full. The old secret keeps signing deliveries beside the new one\n" +
			"for --previous-valid-for (default 24h, at most 168h; 0 ends it at once): webhook-signature\n" +
			"carries both v1 signatures, X-Webhook-Signature the old secret's and X-Webhook-Signature-Next\n" +
			"the new one's. Switch each receiver to the new secret before the overlap ends.",
		Args: idArgs,
	}
	f := cmd.Flags()
	f.String("secret", "", "the new secret (default: a generated whsec_ secret)")
	f.Duration("previous-valid-for", 24*time.Hour, "how long the old secret keeps signing (0: not at all)")
	f.String("if-match", "", "rotate only if the webhook is still at this version (its ETag, e.g. 3 or '\"3\"')")
	addFormatFlag(cmd)
	cmd.RunE = callAndShow(a, func(cmd *cobra.Command, args []string) (request, error) {
		body := map[string]any{}
		if cmd.Flags().Changed("secret") {
			s, _ := cmd.Flags().GetString("secret")
			if s == "" {
				return request{}, usageError("--secret is empty; leave it out to have one generated")
			}
			body["secret"] = s
		}
		if cmd.Flags().Changed("previous-valid-for") {
			d, _ := cmd.Flags().GetDuration("previous-valid-for")
			if d < 0 || d%time.Millisecond != 0 {
				return request{}, usageError("--previous-valid-for must be 0 or more, in whole milliseconds (e.g. 24h, 90m, 0)")
			}
			body["previous_valid_for_ms"] = d.Milliseconds()
		}
		var hdr http.Header
		if cmd.Flags().Changed("if-match") {
			v, _ := cmd.Flags().GetString("if-match")
			hdr = http.Header{"If-Match": {etag(v)}}
		}
		return request{method: http.MethodPost, path: webhookPath(args[0], "rotate-secret"), body: body, header: hdr}, nil
	}, func(cmd *cobra.Command, _ []string, h webhookDTO) error {
		out := cmd.OutOrStdout()
		secret, _ := h.AuthCredentials["secret"].(string)
		fmt.Fprintf(out, "Rotated the secret of webhook %s (%s): version %d\n", h.ID, h.Name, h.Version)
		fmt.Fprintf(out, "New secret: %s\n", secret)
		fmt.Fprintln(out, "(shown this once: reads show it masked)")
		if h.PreviousSecretExpiresAt != nil {
			_, err := fmt.Fprintf(out, "The old secret keeps signing until %s\n", when(a.env.Now(), *h.PreviousSecretExpiresAt))
			return err
		}
		_, err := fmt.Fprintln(out, "The old secret no longer signs")
		return err
	})
	return cmd
}
