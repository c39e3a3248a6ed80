package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/systemprompt-io/webhooks/internal/console"
)

// consolePort is the default port of `webhooks console` (make run's API is
// 3000, sam local's 3001).
const consolePort = 3002

// maxProxyBody bounds a request body the console passes on; the API refuses
// far less (413) itself.
const maxProxyBody = 8 << 20

func (a *app) consoleCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "console [--port 3002] [--listen ADDR]",
		Short: "Serve the operator console on 127.0.0.1, its API calls passed on to --endpoint and signed",
		Long: "Serve the operator console (the one `make run` serves at /console/) on 127.0.0.1 and pass\n" +
			"its API calls on to the endpoint, signed with SigV4 from the standard AWS credential chain\n" +
			"as every other command's are (a loopback endpoint is not signed), so a browser can use a\n" +
			"deployed stack whose API needs IAM auth.\n\n" +
			"It listens on 127.0.0.1 only: anyone who can reach it acts with your AWS credentials. To\n" +
			"listen elsewhere, name the address with --listen HOST:PORT; a non-loopback one is taken\n" +
			"only so, and is warned about. Requests from other sites' pages are refused (their Origin\n" +
			"or Sec-Fetch-Site says so), and so are Host names other than the listen address.\n\n" +
			"Ctrl-C or SIGTERM stops it.",
		Args: cobra.NoArgs,
	}
	f := cmd.Flags()
	f.Int("port", consolePort, "port on 127.0.0.1 to serve on (0 picks a free one)")
	f.String("listen", "", "address to serve on instead, HOST:PORT (a non-loopback host must be named here)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		port, _ := cmd.Flags().GetInt("port")
		addr, _ := cmd.Flags().GetString("listen")
		switch {
		case cmd.Flags().Changed("listen") && cmd.Flags().Changed("port"):
			return usageError("give --port or --listen, not both")
		case port < 0 || port > 65535:
			return usageError("invalid --port %d: want 0 to 65535", port)
		case cmd.Flags().Changed("listen"):
			if _, _, err := net.SplitHostPort(addr); err != nil {
				return usageError("invalid --listen %q: want HOST:PORT, e.g. 127.0.0.1:3002", addr)
			}
		default:
			addr = net.JoinHostPort(listenHost, strconv.Itoa(port))
		}
		return a.serveConsole(cmd, addr)
	}
	return cmd
}

// serveConsole serves the console on addr until the command's context ends.
func (a *app) serveConsole(cmd *cobra.Command, addr string) (err error) {
	ctx := cmd.Context()
	stderr := cmd.ErrOrStderr()
	c, err := a.api(ctx)
	if err != nil {
		return err
	}
	listen := a.env.Listen
	if listen == nil {
		listen = net.Listen
	}
	ln, err := listen("tcp", addr)
	if err != nil {
		return &runError{err}
	}
	defer ln.Close()
	host, _, _ := net.SplitHostPort(addr)
	loopback := isLoopbackHost(host)
	self := "http://" + ln.Addr().String()
	if !loopback {
		fmt.Fprintf(stderr, "Warning: listening on %s, not loopback: whoever reaches it acts with your AWS credentials\n", ln.Addr())
	}
	how := "unsigned (a loopback endpoint)"
	if c.signer != nil {
		how = "signed with SigV4 for " + c.signer.region
	}
	fmt.Fprintf(stderr, "Console on %s/console/, API calls passed on to %s, %s (Ctrl-C to stop)\n", self, c.base.Redacted(), how)

	p := &consoleProxy{client: c, ui: console.Handler(), port: portOf(ln.Addr()), anyHost: !loopback, log: stderr}
	return serveUntilDone(ctx, ln, p, "console", stderr)
}

func portOf(a net.Addr) string {
	if tcp, ok := a.(*net.TCPAddr); ok {
		return strconv.Itoa(tcp.Port)
	}
	_, p, _ := net.SplitHostPort(a.String())
	return p
}

func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// consoleProxy serves the console's assets and passes its API calls on,
// signed as the CLI signs its own.
type consoleProxy struct {
	client  *Client
	ui      http.Handler
	port    string // the listener's, for the Host check
	anyHost bool   // listening off loopback (--listen): the names it is reached by are not known
	log     io.Writer
}

// apiPath reports whether path is the API's: what the console calls.
func apiPath(path string) bool {
	for _, p := range []string{"/webhooks", "/events", "/healthz", "/openapi.json"} {
		if path == p || strings.HasPrefix(path, p+"/") {
			return true
		}
	}
	return false
}

// Headers passed on each way; the rest (cookies, the browser's own) stay.
var (
	proxyRequestHeaders  = []string{"Accept", "Content-Type", "If-Match", "Idempotency-Key"}
	proxyResponseHeaders = []string{"Content-Type", "ETag", "Retry-After", "Allow", "X-Request-Id"}
)

func (p *consoleProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if msg := p.refuse(r); msg != "" {
		writeProxyError(w, http.StatusForbidden, "forbidden", msg)
		return
	}
	switch {
	case r.URL.Path == "/":
		http.Redirect(w, r, console.Prefix, http.StatusFound)
	case console.Handles(r.URL.Path):
		p.ui.ServeHTTP(w, r)
	case apiPath(r.URL.Path):
		p.forward(w, r)
	default:
		writeProxyError(w, http.StatusNotFound, "not_found", "no such page: the console is at "+console.Prefix)
	}
}

// refuse says why r is not served: a Host other than the listener's (a DNS
// rebinding page), or a request another site's page made (it would act with
// the operator's credentials). "" serves it.
func (p *consoleProxy) refuse(r *http.Request) string {
	if !p.anyHost {
		host, port, err := net.SplitHostPort(r.Host)
		if err != nil || port != p.port || !isLoopbackHost(host) {
			return "the console answers only as 127.0.0.1 or localhost"
		}
	}
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return "requests from other sites are refused"
	}
	if o := r.Header.Get("Origin"); o != "" && o != "http://"+r.Host {
		return "requests from other origins are refused"
	}
	return ""
}

// forward sends r to the endpoint, signed, and copies the answer back.
func (p *consoleProxy) forward(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxProxyBody+1))
	if err != nil {
		writeProxyError(w, http.StatusBadRequest, "validation_failed", "the request body could not be read")
		return
	}
	if len(body) > maxProxyBody {
		writeProxyError(w, http.StatusRequestEntityTooLarge, "payload_too_large", "the request body is too large")
		return
	}
	u := p.client.base.JoinPath(r.URL.Path)
	u.RawQuery = r.URL.RawQuery
	req, err := http.NewRequestWithContext(r.Context(), r.Method, u.String(), bytes.NewReader(body))
	if err != nil {
		writeProxyError(w, http.StatusBadRequest, "validation_failed", "the request could not be passed on")
		return
	}
	if len(body) == 0 {
		req.Body, req.ContentLength = http.NoBody, 0
	}
	for _, h := range proxyRequestHeaders {
		if v := r.Header.Values(h); len(v) > 0 {
			req.Header[h] = v
		}
	}
	req.Header.Set("User-Agent", p.client.agent+" (console)")
	if p.client.signer != nil {
		if err := p.client.signer.sign(r.Context(), req, body); err != nil {
			fmt.Fprintf(p.log, "console: %s %s: sign request: %v\n", r.Method, r.URL.Path, err)
			writeProxyError(w, http.StatusBadGateway, "bad_gateway", "the request could not be signed: "+oneLine(err.Error()))
			return
		}
	}
	resp, err := p.client.http.Do(req)
	if err != nil {
		fmt.Fprintf(p.log, "console: %s %s: %v\n", r.Method, u.Redacted(), unwrapURLError(err))
		writeProxyError(w, http.StatusBadGateway, "bad_gateway", "the API could not be reached: "+oneLine(unwrapURLError(err).Error()))
		return
	}
	defer resp.Body.Close()
	for _, h := range proxyResponseHeaders {
		if v := resp.Header.Values(h); len(v) > 0 {
			w.Header()[h] = v
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, io.LimitReader(resp.Body, maxResponseBytes))
}

// writeProxyError answers in the API's error shape, so the console shows
// the proxy's refusals as it shows the API's.
func writeProxyError(w http.ResponseWriter, status int, code, msg string) {
	body, _ := json.Marshal(map[string]map[string]string{"error": {"code": code, "message": msg}})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
