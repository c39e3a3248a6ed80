package cli

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "webhooks",
		Short: "Manage webhooks of the webhooks service",
		Long: "Manage webhooks of the webhooks service over its HTTP API.\n\n" +
			"The endpoint is --endpoint, else $WEBHOOKS_ENDPOINT, else " + DefaultEndpoint + ".\n" +
			"Requests to a non-loopback endpoint are signed with AWS SigV4 (service execute-api),\n" +
			"using the standard AWS credential chain.",
		SilenceErrors: true,
		SilenceUsage:  true,
		// A bare `webhooks` prints help; an unknown subcommand is an error.
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	root.CompletionOptions.DisableDefaultCmd = true
	root.PersistentFlags().StringVar(&a.endpoint, "endpoint", "", "API endpoint (default $WEBHOOKS_ENDPOINT or "+DefaultEndpoint+")")
	root.PersistentFlags().StringVar(&a.region, "region", "", "AWS region for SigV4 signing (default: from the endpoint host, else $AWS_REGION / the AWS config)")
	root.AddCommand(
		a.listCommand(), a.createCommand(), a.infoCommand(), a.updateCommand(), a.deleteCommand(),
		a.testCommand(), a.deliveriesCommand(), a.deliveryCommand(), a.statsCommand(), a.triggerCommand(),
		a.retryCommand(), a.pauseCommand("pause"), a.pauseCommand("resume"), a.eventsCommand(), a.listenCommand(), a.consoleCommand(), a.versionCommand(),
		a.rotateCommand(), a.filterTestCommand(), a.recoverCommand(),
	)
	return root
}

// etag quotes a bare version number, so --if-match takes what `info` shows
// as Version as well as the ETag header itself.
func etag(v string) string {
	v = strings.TrimSpace(v)
	if _, err := strconv.ParseInt(v, 10, 64); err == nil {
		return `"` + v + `"`
	}
	return v
}

// idArgs requires exactly one webhook id argument.
func idArgs(cmd *cobra.Command, args []string) error {
	if len(args) != 1 || strings.TrimSpace(args[0]) == "" {
		return usageError("%s needs one webhook id argument", cmd.Name())
	}
	return nil
}

func webhookPath(id string, rest ...string) string {
	p := "/webhooks/" + url.PathEscape(id)
	for _, r := range rest {
		p += "/" + r
	}
	return p
}

// request is one call of the API.
type request struct {
	method string
	path   string
	query  url.Values
	body   any
	header http.Header
}

// call sends req to the chosen endpoint.
func (a *app) call(cmd *cobra.Command, req request) (*response, error) {
	c, err := a.api(cmd.Context())
	if err != nil {
		return nil, err
	}
	return c.do(cmd.Context(), req.method, req.path, req.query, req.body, req.header)
}

// callAndShow is the RunE of a command that sends one request and shows the
// answer. --format is checked first; then build turns the flags and arguments
// into the request (its errors are usage errors: nothing is sent). The answer
// is printed as is for --format json, else decoded as a T for show to write
// as a table.
func callAndShow[T any](a *app, build func(cmd *cobra.Command, args []string) (request, error),
	show func(cmd *cobra.Command, args []string, v T) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		format, err := outputFormat(cmd)
		if err != nil {
			return err
		}
		req, err := build(cmd, args)
		if err != nil {
			return err
		}
		resp, err := a.call(cmd, req)
		if err != nil {
			return err
		}
		return a.print(cmd, format, resp.Body, func() error {
			var v T
			if err := decode(resp.Body, &v); err != nil {
				return err
			}
			return show(cmd, args, v)
		})
	}
}

// print writes the API's body as is for --format json, else the table.
func (a *app) print(cmd *cobra.Command, format string, body []byte, table func() error) error {
	if format == formatJSON {
		out := cmd.OutOrStdout()
		if _, err := out.Write(body); err != nil {
			return err
		}
		if len(body) > 0 && body[len(body)-1] != '\n' {
			_, err := fmt.Fprintln(out)
			return err
		}
		return nil
	}
	return table()
}

func decode(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return &requestError{fmt.Errorf("unexpected response from the API: %w", err)}
	}
	return nil
}

// showWebhook writes a webhook answer (create, info, update) as a table.
func (a *app) showWebhook(cmd *cobra.Command, _ []string, h webhookDTO) error {
	return writeWebhook(cmd.OutOrStdout(), a.env.Now(), h)
}

// flagQuery sets in q the flags among names that were given, as the query
// parameters of the same names.
func flagQuery(cmd *cobra.Command, q url.Values, names ...string) url.Values {
	for _, name := range names {
		if cmd.Flags().Changed(name) {
			q.Set(name, cmd.Flags().Lookup(name).Value.String())
		}
	}
	return q
}

// showNextCursor tells a table reader how to get the next page: the same
// command with the same filters (a cursor is valid only with them).
func showNextCursor(cmd *cobra.Command, args []string, cursor string) {
	if cursor == "" {
		return
	}
	line := append([]string{cmd.CommandPath()}, args...)
	cmd.Flags().Visit(func(f *pflag.Flag) {
		if f.Name != "cursor" && f.Name != "format" {
			line = append(line, "--"+f.Name, shellQuote(f.Value.String()))
		}
	})
	fmt.Fprintf(cmd.OutOrStdout(), "\nMore results: %s --cursor %s\n", strings.Join(line, " "), cursor)
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/:=,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func (a *app) listCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List webhooks",
		Args:  cobra.NoArgs,
	}
	f := cmd.Flags()
	f.String("status", "", "only webhooks with this status: active or inactive")
	f.String("event", "", "only webhooks subscribed to this event")
	f.Int("limit", 0, "at most this many webhooks (default: the API's page size)")
	f.String("cursor", "", "continue after a previous page")
	addFormatFlag(cmd)
	cmd.RunE = callAndShow(a, func(cmd *cobra.Command, _ []string) (request, error) {
		q := flagQuery(cmd, url.Values{}, "status", "event", "limit", "cursor")
		return request{method: http.MethodGet, path: "/webhooks", query: q}, nil
	}, func(cmd *cobra.Command, args []string, p pageDTO[webhookDTO]) error {
		if err := writeWebhookTable(cmd.OutOrStdout(), a.env.Now(), p.Items); err != nil {
			return err
		}
		showNextCursor(cmd, args, p.NextCursor)
		return nil
	})
	return cmd
}

// addWebhookFlags adds the flags of create and update. Only create shows the
// defaults: the API applies them to a new webhook, while an update leaves
// every field not given as it is.
func addWebhookFlags(cmd *cobra.Command, create bool) {
	def := func(v string) string {
		if create {
			return " (default " + v + ")"
		}
		return ""
	}
	f := cmd.Flags()
	f.String("name", "", "display name (at most 256 characters)")
	f.String("url", "", "endpoint URL (http or https)")
	f.String("events", "", "comma-separated events, e.g. agent.started,agent.failed ('webhooks events' lists them)")
	f.String("method", "", "HTTP method: POST, PUT or PATCH"+def("POST"))
	f.String("headers", "", `custom headers as a JSON object, e.g. '{"X-Custom":"value"}'`)
	f.String("auth-type", "", "none, basic, bearer, api-key, hmac or oauth2"+def("none"))
	f.String("auth-credentials", "", `credentials as a JSON object, e.g. '{"token":"secret123"}', or for oauth2 `+
		`'{"token_url":"https://auth.example.com/token","client_id":"id","client_secret":"s"}' (scope, audience, auth_style optional)`)
	f.String("retry-strategy", "", "exponential, linear or fixed"+def("exponential"))
	f.Int("max-attempts", 0, "attempts per delivery, 1 to 20"+def("3"))
	f.Var(&msValue{}, "initial-delay", "delay before the first retry, in ms or as a duration like 1s"+def("1000"))
	f.Var(&msValue{}, "max-delay", "longest delay between attempts, in ms or a duration"+def("60000"))
	f.Var(&msValue{}, "timeout", "request timeout, in ms or a duration, 1000 to 120000"+def("30000, or the service's DEFAULT_TIMEOUT_MS"))
	f.String("filter", "", filterFlagUsage(create))
	f.String("rate-limit", "", rateLimitFlagUsage(create))
}

// webhookBody builds the JSON of create/update from the flags that were set,
// so an update changes only what was asked for.
func webhookBody(cmd *cobra.Command) (map[string]any, error) {
	f := cmd.Flags()
	body := map[string]any{}
	str := func(flag, field string) {
		if f.Changed(flag) {
			v, _ := f.GetString(flag)
			body[field] = v
		}
	}
	str("name", "name")
	str("url", "url")
	str("method", "method")
	str("auth-type", "auth_type")
	str("status", "status")
	if f.Changed("events") {
		v, _ := f.GetString("events")
		body["events"] = listFlag(v)
	}
	if f.Changed("headers") {
		v, _ := f.GetString("headers")
		m, err := stringMapFlag("headers", v)
		if err != nil {
			return nil, err
		}
		body["headers"] = m
	}
	if f.Changed("auth-credentials") {
		v, _ := f.GetString("auth-credentials")
		m, err := stringMapFlag("auth-credentials", v)
		if err != nil {
			return nil, err
		}
		body["auth_credentials"] = m
	}
	if f.Changed("timeout") {
		body["timeout_ms"] = f.Lookup("timeout").Value.(*msValue).ms
	}
	if err := filterBody(cmd, body); err != nil {
		return nil, err
	}
	if err := rateLimitBody(cmd, body); err != nil {
		return nil, err
	}
	retry := map[string]any{}
	if f.Changed("retry-strategy") {
		v, _ := f.GetString("retry-strategy")
		retry["strategy"] = v
	}
	if f.Changed("max-attempts") {
		v, _ := f.GetInt("max-attempts")
		retry["max_attempts"] = v
	}
	if f.Changed("initial-delay") {
		retry["initial_delay_ms"] = f.Lookup("initial-delay").Value.(*msValue).ms
	}
	if f.Changed("max-delay") {
		retry["max_delay_ms"] = f.Lookup("max-delay").Value.(*msValue).ms
	}
	if len(retry) > 0 {
		body["retry"] = retry
	}
	return body, nil
}

func (a *app) createCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "create --name NAME --url URL --events E1,E2 [flags]",
		Short: "Create a webhook",
		Args:  cobra.NoArgs,
	}
	addWebhookFlags(cmd, true)
	addFormatFlag(cmd)
	for _, name := range []string{"name", "url", "events"} {
		_ = cmd.MarkFlagRequired(name)
	}
	cmd.RunE = callAndShow(a, func(cmd *cobra.Command, _ []string) (request, error) {
		body, err := webhookBody(cmd)
		if err != nil {
			return request{}, err
		}
		return request{method: http.MethodPost, path: "/webhooks", body: body}, nil
	}, a.showWebhook)
	return cmd
}

func (a *app) infoCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "info ID",
		Short: "Show a webhook",
		Args:  idArgs,
	}
	addFormatFlag(cmd)
	cmd.RunE = callAndShow(a, func(_ *cobra.Command, args []string) (request, error) {
		return request{method: http.MethodGet, path: webhookPath(args[0])}, nil
	}, a.showWebhook)
	return cmd
}

func (a *app) updateCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "update ID [flags]",
		Short: "Change a webhook; only the flags given are changed",
		Args:  idArgs,
	}
	addWebhookFlags(cmd, false)
	cmd.Flags().String("status", "", "active or inactive")
	cmd.Flags().String("if-match", "", "update only if the webhook is still at this version (its ETag, e.g. 3 or '\"3\"')")
	addFormatFlag(cmd)
	cmd.RunE = callAndShow(a, func(cmd *cobra.Command, args []string) (request, error) {
		body, err := webhookBody(cmd)
		if err != nil {
			return request{}, err
		}
		if len(body) == 0 {
			return request{}, usageError("update: nothing to change; give at least one flag")
		}
		var hdr http.Header
		if cmd.Flags().Changed("if-match") {
			v, _ := cmd.Flags().GetString("if-match")
			hdr = http.Header{"If-Match": {etag(v)}}
		}
		return request{method: http.MethodPatch, path: webhookPath(args[0]), body: body, header: hdr}, nil
	}, a.showWebhook)
	return cmd
}

func (a *app) deleteCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "delete ID [--force]",
		Short: "Delete a webhook (asks first unless --force)",
		Args:  idArgs,
	}
	cmd.Flags().BoolP("force", "f", false, "delete without asking (required when stdin is not a terminal)")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		id := args[0]
		force, _ := cmd.Flags().GetBool("force")
		if !force && !a.env.IsTerminal() {
			return usageError("refusing to delete %s without --force: stdin is not a terminal", id)
		}
		if !force {
			resp, err := a.call(cmd, request{method: http.MethodGet, path: webhookPath(id)})
			if err != nil {
				return err
			}
			var h webhookDTO
			if err := decode(resp.Body, &h); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "Delete webhook %s %q (%s)? [y/N] ", h.ID, h.Name, h.URL)
			line, _ := bufio.NewReader(a.env.Stdin).ReadString('\n')
			if ans := strings.ToLower(strings.TrimSpace(line)); ans != "y" && ans != "yes" {
				return &abortError{msg: "aborted: webhook " + id + " not deleted"}
			}
		}
		if _, err := a.call(cmd, request{method: http.MethodDelete, path: webhookPath(id)}); err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "Deleted webhook %s\n", id)
		return nil
	}
	return cmd
}

func (a *app) testCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "test ID",
		Short: "Send a test event to a webhook now and show the endpoint's answer",
		Long: "Send the custom event with a sample payload to the webhook's endpoint now (even if the\n" +
			"webhook is paused), wait for the answer and show it. The test is recorded as a delivery\n" +
			"(see `webhooks delivery ID DELIVERY_ID`); it is not retried and not counted in the stats.\n\n" +
			"The exit status is 0 whenever the test was made, also when the endpoint failed: the Success\n" +
			"row says which (\"no: ...\" with the reason). Scripts can read .success of --format json.",
		Args: idArgs,
	}
	addFormatFlag(cmd)
	cmd.RunE = callAndShow(a, func(_ *cobra.Command, args []string) (request, error) {
		return request{method: http.MethodPost, path: webhookPath(args[0], "test")}, nil
	}, func(cmd *cobra.Command, _ []string, r testResultDTO) error {
		return writeTestResult(cmd.OutOrStdout(), r)
	})
	return cmd
}

func (a *app) deliveriesCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "deliveries ID",
		Short: "List a webhook's deliveries, newest first",
		Args:  idArgs,
	}
	f := cmd.Flags()
	f.Int("limit", 50, "at most this many deliveries")
	f.String("status", "", "only deliveries with this status: pending, retrying, held, succeeded or failed")
	f.String("cursor", "", "continue after a previous page")
	addFormatFlag(cmd)
	cmd.RunE = callAndShow(a, func(cmd *cobra.Command, args []string) (request, error) {
		limit, _ := cmd.Flags().GetInt("limit")
		q := flagQuery(cmd, url.Values{"limit": {strconv.Itoa(limit)}}, "status", "cursor")
		return request{method: http.MethodGet, path: webhookPath(args[0], "deliveries"), query: q}, nil
	}, func(cmd *cobra.Command, args []string, p pageDTO[deliveryDTO]) error {
		if err := writeDeliveryTable(cmd.OutOrStdout(), a.env.Now(), p.Items); err != nil {
			return err
		}
		showNextCursor(cmd, args, p.NextCursor)
		return nil
	})
	return cmd
}

func (a *app) deliveryCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "delivery ID DELIVERY_ID",
		Short: "Show one delivery with its attempts",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 2 {
				return usageError("delivery needs a webhook id and a delivery id")
			}
			return nil
		},
	}
	addFormatFlag(cmd)
	cmd.RunE = callAndShow(a, func(_ *cobra.Command, args []string) (request, error) {
		return request{method: http.MethodGet, path: webhookPath(args[0], "deliveries", url.PathEscape(args[1]))}, nil
	}, func(cmd *cobra.Command, _ []string, d deliveryDTO) error {
		return writeDelivery(cmd.OutOrStdout(), a.env.Now(), d)
	})
	return cmd
}

func (a *app) statsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "stats ID",
		Short: "Show a webhook's delivery statistics",
		Args:  idArgs,
	}
	addFormatFlag(cmd)
	cmd.RunE = callAndShow(a, func(_ *cobra.Command, args []string) (request, error) {
		return request{method: http.MethodGet, path: webhookPath(args[0], "stats")}, nil
	}, func(cmd *cobra.Command, _ []string, s statsDTO) error {
		return writeStats(cmd.OutOrStdout(), a.env.Now(), s)
	})
	return cmd
}

func (a *app) triggerCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "trigger --event EVENT [--data JSON] [--metadata JSON] | --file EVENTS.jsonl",
		Short: "Trigger an event: every active webhook subscribed to it gets a delivery",
		Long: "Trigger an event: every active webhook subscribed to it gets a delivery.\n\n" +
			"With --file, trigger the events of a file (- for stdin), one JSON object per line as POST /events\n" +
			`takes it, with its own optional "idempotency_key": {"event":"custom","data":{...},"idempotency_key":"k1"}.` + "\n" +
			"They are sent in batches of up to 100 (POST /events/batch), with a progress line per batch on stderr;\n" +
			"a refused line is reported with its number and the others go on (exit 1 if any was refused).\n" +
			"--format json prints one JSON object per line of the file: {\"line\",\"event_id\",\"deliveries\"} or {\"line\",\"error\"}.",
		Args: cobra.NoArgs,
	}
	f := cmd.Flags()
	f.String("file", "", "trigger the events of a JSON Lines file (- for stdin), in batches of up to 100")
	f.String("event", "", "event name ('webhooks events' lists them)")
	f.String("data", "", `event data as a JSON object, e.g. '{"message":"test"}'`)
	f.String("metadata", "", `metadata as a JSON object, e.g. '{"source":"cli"}'`)
	f.String("idempotency-key", "", "the same key again returns the first answer and triggers nothing")
	addFormatFlag(cmd)
	for _, other := range []string{"event", "data", "metadata", "idempotency-key"} {
		cmd.MarkFlagsMutuallyExclusive("file", other)
	}
	one := callAndShow(a, func(cmd *cobra.Command, _ []string) (request, error) {
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
		var hdr http.Header
		if cmd.Flags().Changed("idempotency-key") {
			v, _ := cmd.Flags().GetString("idempotency-key")
			hdr = http.Header{"Idempotency-Key": {v}}
		}
		return request{method: http.MethodPost, path: "/events", body: body, header: hdr}, nil
	}, func(cmd *cobra.Command, _ []string, r triggerDTO) error {
		event, _ := cmd.Flags().GetString("event")
		noun := "deliveries"
		if r.Deliveries == 1 {
			noun = "delivery"
		}
		_, err := fmt.Fprintf(cmd.OutOrStdout(), "Triggered %s as %s: %d %s queued\n", event, r.EventID, r.Deliveries, noun)
		return err
	})
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if path, _ := cmd.Flags().GetString("file"); path != "" {
			return a.triggerFile(cmd, path)
		}
		if !cmd.Flags().Changed("event") {
			return usageError("give --event EVENT, or --file EVENTS.jsonl")
		}
		return one(cmd, args)
	}
	return cmd
}

func (a *app) retryCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "retry --webhook ID --delivery DELIVERY_ID",
		Short: "Retry a failed delivery",
		Long: "Send a failed delivery again, under the same delivery id, with a new series of attempts\n" +
			"(the webhook's retry policy). Follow it with `webhooks delivery ID DELIVERY_ID`. A delivery\n" +
			"that has not failed (pending, retrying or succeeded) is refused: exit 1.",
		Args: cobra.NoArgs,
	}
	cmd.Flags().String("webhook", "", "webhook id")
	cmd.Flags().String("delivery", "", "delivery id")
	addFormatFlag(cmd)
	_ = cmd.MarkFlagRequired("webhook")
	_ = cmd.MarkFlagRequired("delivery")
	cmd.RunE = callAndShow(a, func(cmd *cobra.Command, _ []string) (request, error) {
		wh, _ := cmd.Flags().GetString("webhook")
		dlv, _ := cmd.Flags().GetString("delivery")
		return request{method: http.MethodPost, path: webhookPath(wh, "deliveries", url.PathEscape(dlv), "retry")}, nil
	}, func(cmd *cobra.Command, _ []string, d deliveryDTO) error {
		_, err := fmt.Fprintf(cmd.OutOrStdout(), "Queued delivery %s of webhook %s again: attempt %d next, status %s\n",
			d.ID, d.WebhookID, len(d.Attempts)+1, d.Status)
		return err
	})
	return cmd
}

// pauseCommand is pause (set inactive; --hold keeps the events' deliveries,
// held) or resume (set active, draining what was held).
func (a *app) pauseCommand(verb string) *cobra.Command {
	short := "Pause a webhook: it receives no events until resumed (--hold: they wait, held)"
	if verb == "resume" {
		short = "Resume a paused webhook (deliveries held meanwhile are drained)"
	}
	cmd := &cobra.Command{
		Use:   verb + " ID",
		Short: short,
		Args:  idArgs,
	}
	if verb == "pause" {
		cmd.Flags().Bool("hold", false, "hold the deliveries of events while paused (status held) until resume drains them; without it events while paused make no delivery")
	}
	addFormatFlag(cmd)
	cmd.RunE = callAndShow(a, func(cmd *cobra.Command, args []string) (request, error) {
		req := request{method: http.MethodPost, path: webhookPath(args[0], verb)}
		if hold, _ := cmd.Flags().GetBool("hold"); hold {
			req.body = map[string]bool{"hold": true}
		}
		return req, nil
	}, func(cmd *cobra.Command, _ []string, h webhookDTO) error {
		past := map[string]string{"pause": "Paused", "resume": "Resumed"}[verb]
		held := ""
		if h.Hold {
			held = "; deliveries are held until resume"
		}
		_, err := fmt.Fprintf(cmd.OutOrStdout(), "%s webhook %s (%s): status %s%s\n", past, h.ID, h.Name, h.Status, held)
		return err
	})
	return cmd
}

func (a *app) eventsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "events",
		Short: "List the events a webhook can subscribe to",
		Args:  cobra.NoArgs,
	}
	addFormatFlag(cmd)
	cmd.RunE = callAndShow(a, func(*cobra.Command, []string) (request, error) {
		return request{method: http.MethodGet, path: "/events/types"}, nil
	}, func(cmd *cobra.Command, _ []string, p pageDTO[eventTypeDTO]) error {
		return writeEventTypes(cmd.OutOrStdout(), p.Items)
	})
	return cmd
}

func (a *app) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the CLI's version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintln(cmd.OutOrStdout(), versionLine())
			return err
		},
	}
}
