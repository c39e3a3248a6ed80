package cli

import (
	"bytes"
	"context"
	"crypto/hmac"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/spf13/cobra"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/systemprompt-io/webhooks/internal/delivery"
	"github.com/systemprompt-io/webhooks/internal/signing"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// listenHost is the only address `listen` binds: it is a development
// receiver, not a server for the network.
const listenHost = "127.0.0.1"

// maxListenBody bounds what listen reads of a request.
const maxListenBody = 16 << 20

// Results of a signature check.
const (
	checkVerified   = "verified"
	checkFailed     = "failed"
	checkNotSigned  = "not signed"
	checkNotChecked = "not checked" // signed, but listen knows no secret
)

// lineTime is the time format of listen's lines: UTC with milliseconds.
const lineTime = "2006-01-02 15:04:05.000Z"

func (a *app) listenCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "listen [--port 9000] [--secret S | --webhook ID | --create --events E1,E2] [--status 200 | --forward URL]",
		Short: "Receive deliveries on 127.0.0.1 and show each one with its signature checks",
		Long: "Listen on 127.0.0.1 as a webhook's endpoint for development, and print one line per request:\n" +
			"time, event, delivery id, attempt, both signature checks (X-Webhook-Signature and the Standard\n" +
			"Webhooks webhook-signature: verified, failed, not signed, or not checked when no secret is\n" +
			"known) and the status answered.\n\n" +
			"The secret comes from --secret; or from --webhook ID, which reads the webhook (the API shows\n" +
			"a secret only masked, so an hmac webhook needs --secret too, checked against the mask); or\n" +
			"--create --events E1,E2 creates a webhook (auth_type hmac, generated secret) that delivers\n" +
			"here, and deletes it when listen stops. The service must reach 127.0.0.1: the local server\n" +
			"(make run) can, a deployed one cannot.\n\n" +
			"Every request is answered --status (default 200; 500 shows the retries), or, with --forward,\n" +
			"passed on (body and headers) to an app and answered with the app's answer.\n\n" +
			"Ctrl-C or SIGTERM stops it.",
		Args: cobra.NoArgs,
	}
	f := cmd.Flags()
	f.Int("port", 9000, "port on 127.0.0.1 to listen on (0 picks a free one)")
	f.String("secret", "", "the webhook's HMAC secret, to check the signatures")
	f.String("webhook", "", "id of the webhook that delivers here: its secret is used if the API shows it")
	f.Bool("create", false, "create a webhook that delivers here (hmac, generated secret); deleted on exit")
	f.String("events", "", "with --create: comma-separated events, e.g. custom,agent.failed")
	f.Int("status", http.StatusOK, "HTTP status to answer every request with (200 to 599)")
	f.String("forward", "", "pass each request on to this URL and answer what it answers, e.g. http://127.0.0.1:4242/hook")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		o, err := listenFlags(cmd)
		if err != nil {
			return err
		}
		return a.listen(cmd, o)
	}
	return cmd
}

// listenOptions are listen's flags, checked.
type listenOptions struct {
	port      int
	secret    string
	webhookID string
	create    bool
	events    []string
	status    int
	forward   *url.URL // nil: answer status
}

func listenFlags(cmd *cobra.Command) (listenOptions, error) {
	f := cmd.Flags()
	var o listenOptions
	o.port, _ = f.GetInt("port")
	o.secret, _ = f.GetString("secret")
	o.webhookID, _ = f.GetString("webhook")
	o.create, _ = f.GetBool("create")
	o.status, _ = f.GetInt("status")
	events, _ := f.GetString("events")
	o.events = listFlag(events)
	forward, _ := f.GetString("forward")

	if o.port < 0 || o.port > 65535 {
		return o, usageError("--port: want 0 to 65535 (0 picks a free port), not %d", o.port)
	}
	if o.status < 200 || o.status > 599 {
		return o, usageError("--status: want an HTTP status from 200 to 599, not %d", o.status)
	}
	if f.Changed("forward") {
		if f.Changed("status") {
			return o, usageError("--status and --forward: give one; with --forward the app's answer is the answer")
		}
		u, err := url.Parse(forward)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return o, usageError("--forward: want an http(s) URL like http://127.0.0.1:4242/hook, not %q", forward)
		}
		o.forward = u
	}
	if f.Changed("secret") {
		if _, err := signing.Key(o.secret); err != nil {
			return o, usageError("--secret: %v", err)
		}
	}
	if f.Changed("webhook") && strings.TrimSpace(o.webhookID) == "" {
		return o, usageError("--webhook: want a webhook id")
	}
	switch {
	case o.create && o.webhookID != "":
		return o, usageError("--create and --webhook: give one; --create makes a new webhook, --webhook names one")
	case o.create && len(o.events) == 0:
		return o, usageError("--create needs --events, e.g. --events custom")
	case !o.create && f.Changed("events"):
		return o, usageError("--events goes with --create: the events of the webhook it creates")
	}
	return o, nil
}

// listen runs the receiver until the command's context ends.
func (a *app) listen(cmd *cobra.Command, o listenOptions) (err error) {
	ctx := cmd.Context()
	stderr := cmd.ErrOrStderr()

	// An existing webhook is read before anything listens, so a secret
	// that cannot be had stops here.
	var existing *webhookDTO
	if o.webhookID != "" {
		h, secret, rerr := a.webhookSecret(cmd, o.webhookID, o.secret)
		if rerr != nil {
			return rerr
		}
		existing, o.secret = &h, secret
	}

	listen := a.env.Listen
	if listen == nil {
		listen = net.Listen
	}
	ln, err := listen("tcp", net.JoinHostPort(listenHost, strconv.Itoa(o.port)))
	if err != nil {
		return &runError{err} // net's error names the address
	}
	defer ln.Close()
	port := o.port
	if tcp, ok := ln.Addr().(*net.TCPAddr); ok {
		port = tcp.Port
	}
	self := fmt.Sprintf("http://%s:%d/", listenHost, port)

	if existing != nil {
		if existing.AuthType != "hmac" {
			fmt.Fprintf(stderr, "Webhook %s has auth_type %s: its deliveries carry no signature\n", existing.ID, orDash(existing.AuthType))
		}
		if !deliversTo(existing.URL, port) {
			fmt.Fprintf(stderr, "Note: webhook %s delivers to %s, not to this listener (%s)\n", existing.ID, existing.URL, self)
		}
	}

	var created string
	if o.create {
		h, cerr := a.createListenWebhook(cmd, self, o.events, o.secret)
		if cerr != nil {
			return cerr
		}
		created = h.ID
		// Deleted when listen stops, even though the context is done by then.
		defer func() {
			switch derr := a.deleteListenWebhook(ctx, created); {
			case derr == nil:
				fmt.Fprintf(stderr, "Deleted webhook %s\n", created)
			case err == nil:
				err = derr
			default:
				fmt.Fprintln(stderr, "error: "+oneLine(derr.Error()))
			}
		}()
		fmt.Fprintf(stderr, "Created webhook %s (%s) delivering to %s; it is deleted when listen stops\n",
			h.ID, strings.Join(h.Events, ","), self)
		if o.secret == "" {
			s, _ := h.AuthCredentials["secret"].(string)
			if s == "" || isMasked(s) {
				return &runError{fmt.Errorf("the API did not return the generated secret of webhook %s", h.ID)}
			}
			o.secret = s
			fmt.Fprintf(stderr, "Signing secret: %s\n", s)
		}
	}

	v, verr := newVerifier(o.secret)
	if verr != nil {
		return &runError{verr}
	}
	if o.secret == "" {
		fmt.Fprintln(stderr, "No secret: signatures are not checked (give --secret, or use --create)")
	}
	l := &listener{out: cmd.OutOrStdout(), now: a.env.Now, verify: v, status: o.status}
	answer := fmt.Sprintf("answering %d", o.status)
	if o.forward != nil {
		l.proxy = newForwarder(o.forward, stderr)
		answer = "forwarding to " + o.forward.String()
	}
	fmt.Fprintf(stderr, "Listening on %s, %s (Ctrl-C to stop)\n", strings.TrimSuffix(self, "/"), answer)

	if serr := serveUntilDone(ctx, ln, l, "listen", stderr); serr != nil {
		err = serr
	}
	return err
}

// serveUntilDone serves h on ln until ctx ends (Ctrl-C), then gives the
// requests in flight a moment to finish (and be printed). An error is the
// server's own: it stopped serving before ctx ended.
func serveUntilDone(ctx context.Context, ln net.Listener, h http.Handler, name string, stderr io.Writer) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: log.New(stderr, name+": ", 0)}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	var err error
	select {
	case <-ctx.Done():
	case serr := <-served:
		err = &runError{fmt.Errorf("serve on %s: %w", ln.Addr(), serr)}
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	return err
}

// webhookSecret reads webhook id and returns it with the secret to check its
// deliveries with. The API shows a secret masked ("****" and its last four
// characters) on every read after the one that generated it, so a masked
// secret needs --secret; a given secret must agree with the mask.
func (a *app) webhookSecret(cmd *cobra.Command, id, given string) (webhookDTO, string, error) {
	resp, err := a.call(cmd, request{method: http.MethodGet, path: webhookPath(id)})
	if err != nil {
		return webhookDTO{}, "", err
	}
	var h webhookDTO
	if err := decode(resp.Body, &h); err != nil {
		return webhookDTO{}, "", err
	}
	if h.AuthType != "hmac" {
		return h, given, nil
	}
	shown, _ := h.AuthCredentials["secret"].(string)
	switch {
	case given != "":
		// During a rotation's overlap the previous secret, which the mask
		// does not show, still signs.
		if tail, ok := strings.CutPrefix(shown, "****"); ok && tail != "" && !strings.HasSuffix(given, tail) && h.PreviousSecretExpiresAt == nil {
			return h, "", usageError("--secret is not the secret of webhook %s: the API shows it as %s", h.ID, shown)
		}
		return h, given, nil
	case shown == "" || isMasked(shown):
		return h, "", usageError("webhook %s signs with a secret the API shows only masked (%s): give it with --secret "+
			"(it was shown in full once, in the answer that generated it)", h.ID, orDash(shown))
	}
	return h, shown, nil
}

// isMasked reports whether a credential is the API's masked form of one.
func isMasked(s string) bool { return strings.HasPrefix(s, "****") }

// deliversTo reports whether rawURL is this listener: loopback, on port.
func deliversTo(rawURL string, port int) bool {
	u, err := url.Parse(rawURL)
	if err != nil || !isLoopback(u) {
		return false
	}
	p := u.Port()
	if p == "" {
		p = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	return p == strconv.Itoa(port)
}

func (a *app) createListenWebhook(cmd *cobra.Command, self string, events []string, secret string) (webhookDTO, error) {
	body := map[string]any{
		"name":      "webhooks listen on " + strings.TrimSuffix(strings.TrimPrefix(self, "http://"), "/"),
		"url":       self,
		"events":    events,
		"auth_type": "hmac",
	}
	if secret != "" {
		body["auth_credentials"] = map[string]string{"secret": secret}
	}
	resp, err := a.call(cmd, request{method: http.MethodPost, path: "/webhooks", body: body})
	if err != nil {
		return webhookDTO{}, err
	}
	var h webhookDTO
	if err := decode(resp.Body, &h); err != nil {
		return webhookDTO{}, err
	}
	return h, nil
}

// deleteListenWebhook deletes the webhook --create made. ctx is usually done
// by now (Ctrl-C), so the call gets its own deadline.
func (a *app) deleteListenWebhook(ctx context.Context, id string) error {
	c, err := a.api(ctx)
	if err != nil {
		return err
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if _, err := c.do(dctx, http.MethodDelete, webhookPath(id), nil, nil, nil); err != nil {
		return &runError{fmt.Errorf("delete webhook %s (delete it with 'webhooks delete %s --force'): %w", id, id, err)}
	}
	return nil
}

// verifier checks both signatures of a delivery against one secret: the
// seed's with the service's own signing code, the Standard Webhooks one
// independently with that standard's reference library.
type verifier struct {
	key []byte                    // nil: no secret
	std *standardwebhooks.Webhook // nil: no secret
}

func newVerifier(secret string) (*verifier, error) {
	if secret == "" {
		return &verifier{}, nil
	}
	key, err := signing.Key(secret)
	if err != nil {
		return nil, err
	}
	// The library takes a whsec_ secret as base64 and anything else only as
	// raw bytes: the same two readings as signing.Key.
	var std *standardwebhooks.Webhook
	if strings.HasPrefix(secret, webhook.SecretPrefix) {
		std, err = standardwebhooks.NewWebhook(secret)
	} else {
		std, err = standardwebhooks.NewWebhookRaw([]byte(secret))
	}
	if err != nil {
		return nil, fmt.Errorf("standard webhooks: %w", err)
	}
	return &verifier{key: key, std: std}, nil
}

// seed checks X-Webhook-Signature: sha256=<hex HMAC of the body>. During a
// secret rotation's overlap that header carries the old secret's signature
// and X-Webhook-Signature-Next the new one's: a match in either verifies,
// and the result says when it was the new one.
func (v *verifier) seed(h http.Header, body []byte) string {
	got := h.Get(delivery.HeaderSignature)
	if got == "" {
		return checkNotSigned
	}
	if v.key == nil {
		return checkNotChecked
	}
	want := []byte(signing.Seed(v.key, body))
	if hmac.Equal([]byte(got), want) {
		return checkVerified
	}
	if next := h.Get(delivery.HeaderSignatureNext); next != "" && hmac.Equal([]byte(next), want) {
		return checkVerified + " (" + delivery.HeaderSignatureNext + ")"
	}
	return checkFailed
}

// standard checks webhook-signature over webhook-id, webhook-timestamp (at
// most 5 minutes off, as the library enforces) and the body.
func (v *verifier) standard(h http.Header, body []byte) string {
	if h.Get(delivery.HeaderSWSignature) == "" {
		return checkNotSigned
	}
	if v.std == nil {
		return checkNotChecked
	}
	err := v.std.Verify(body, h)
	switch {
	case err == nil:
		return checkVerified
	case errors.Is(err, standardwebhooks.ErrMessageTooOld):
		return checkFailed + " (timestamp too old)"
	case errors.Is(err, standardwebhooks.ErrMessageTooNew):
		return checkFailed + " (timestamp too new)"
	case errors.Is(err, standardwebhooks.ErrRequiredHeaders):
		return checkFailed + " (no webhook-id or webhook-timestamp)"
	case errors.Is(err, standardwebhooks.ErrInvalidHeaders):
		return checkFailed + " (bad webhook-timestamp)"
	}
	return checkFailed
}

// listener answers every request and prints one line about it.
type listener struct {
	out    io.Writer
	mu     sync.Mutex // one line at a time
	now    func() time.Time
	verify *verifier
	status int
	proxy  *httputil.ReverseProxy // nil: answer status
}

func (l *listener) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := &recorder{ResponseWriter: w}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxListenBody))
	seed, std := l.verify.seed(r.Header, body), l.verify.standard(r.Header, body)
	var note string
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		seed, std, note = checkNotChecked, checkNotChecked, fmt.Sprintf(" (body over %d bytes)", tooLarge.Limit)
		http.Error(rec, "body too large", http.StatusRequestEntityTooLarge)
	case err != nil:
		seed, std, note = checkNotChecked, checkNotChecked, " (reading the body: "+oneLine(err.Error())+")"
		http.Error(rec, "cannot read the body", http.StatusBadRequest)
	case l.proxy != nil:
		r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
		l.proxy.ServeHTTP(rec, r)
		note = " (forwarded)"
		if rec.forwardErr != nil {
			note = " (forward failed: " + oneLine(rec.forwardErr.Error()) + ")"
		}
	default:
		w.Header().Set("Content-Type", "application/json")
		rec.WriteHeader(l.status)
		if l.status < 300 {
			io.WriteString(rec, `{"received":true}`)
		} else {
			fmt.Fprintf(rec, `{"error":"webhooks listen answers %d (--status)"}`, l.status)
		}
	}
	id := r.Header.Get(delivery.HeaderDelivery)
	if id == "" {
		id = r.Header.Get(delivery.HeaderSWID)
	}
	status := rec.status
	if status == 0 {
		status = http.StatusOK
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.out, "%s  %s  %s  attempt %s  X-Webhook-Signature: %s  webhook-signature: %s  answered %d%s\n",
		l.now().UTC().Format(lineTime), shown(r.Header.Get(delivery.HeaderEvent)), shown(id),
		shown(r.Header.Get(delivery.HeaderAttempt)), seed, std, status, note)
}

// shown is a header value as printed: "-" when absent, quoted when it holds
// anything but printable characters (a terminal takes escapes literally).
func shown(s string) string {
	if s == "" {
		return "-"
	}
	for _, r := range s {
		if !unicode.IsPrint(r) || r == ' ' {
			return strconv.Quote(s)
		}
	}
	return s
}

// newForwarder passes requests on to target, headers and body as received
// (hop-by-hop headers dropped, as a proxy must), and the answer back.
func newForwarder(target *url.URL, stderr io.Writer) *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			u := *target
			pr.Out.URL = &u
			pr.Out.Host = ""
		},
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			if rec, ok := w.(*recorder); ok {
				rec.forwardErr = err
			}
			http.Error(w, "webhooks listen: forward to "+target.Redacted()+" failed", http.StatusBadGateway)
		},
		ErrorLog: log.New(stderr, "listen: forward: ", 0),
	}
}

// recorder notes the status a handler answered.
type recorder struct {
	http.ResponseWriter
	status     int
	forwardErr error
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 && code >= 200 { // 1xx are informational, the answer follows
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController (used by ReverseProxy to flush) reach
// the real writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
