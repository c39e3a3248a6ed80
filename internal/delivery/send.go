package delivery

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/systemprompt-io/webhooks/internal/safehttp"
)

// DefaultMaxBody is how much of a response body Send keeps when the caller
// passes no limit.
const DefaultMaxBody = 16 << 10

// maxDrain bounds what Send reads and discards past the kept excerpt: a small
// remainder is drained so the connection can be reused, a large one is cut
// off by closing the connection instead.
const maxDrain = 64 << 10

// Result is the outcome of one send.
//
// StatusCode is 0 when no response arrived; Err then says why. When a
// response arrived, Err is nil unless reading its body failed (StatusCode
// and Header are still set, and the status decides the attempt's outcome).
// Err wraps the underlying error (errors.As finds *safehttp.BlockedError, so
// retry.Classify reports it as Permanent) but its message is short and
// readable: "timeout after 30s", "blocked: address 10.0.0.1 is private".
type Result struct {
	StatusCode int
	Header     http.Header
	Body       []byte // at most maxBody bytes of the response body
	Truncated  bool   // the body was longer than Body
	Duration   time.Duration
	Timings    Timings // the phases of Duration (timings.go)
	Err        error
}

// Excerpt returns at most n bytes of the body as valid UTF-8 (invalid bytes
// become U+FFFD and a cut never splits a character), fit for storing as a
// string attribute.
func (r Result) Excerpt(n int) string {
	if n <= 0 {
		return ""
	}
	s := strings.ToValidUTF8(string(r.Body[:min(len(r.Body), n+utf8.UTFMax)]), "\uFFFD")
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

// Send performs req with client and returns what came back. timeout, if
// positive, bounds the whole exchange (connect, TLS, headers and the body
// excerpt) on top of req's context; maxBody bounds the body kept (<= 0 means
// DefaultMaxBody). Duration is measured on the monotonic clock from the start
// of the request until the excerpt was read. Send never panics and always
// closes the response body.
func Send(ctx context.Context, client *http.Client, req *http.Request, timeout time.Duration, maxBody int64) (res Result) {
	start := time.Now()
	defer func() {
		if p := recover(); p != nil {
			res = Result{Duration: time.Since(start), Err: fmt.Errorf("send panicked: %v", p)}
		}
	}()
	if client == nil || req == nil {
		return Result{Err: errors.New("send: no client or request")}
	}
	if ctx == nil {
		ctx = req.Context()
	}
	if maxBody <= 0 {
		maxBody = DefaultMaxBody
	}
	sendCtx := ctx
	if timeout > 0 {
		var cancel context.CancelFunc
		sendCtx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	tr := newTracer()
	req = req.WithContext(tr.with(sendCtx))

	resp, err := client.Do(req)
	if err != nil {
		d := time.Since(start)
		return Result{Duration: d, Timings: tr.timings(), Err: describe(err, ctx, sendCtx, timeout, d)}
	}
	defer resp.Body.Close()

	res = Result{StatusCode: resp.StatusCode, Header: resp.Header, Timings: tr.timings()}
	var buf bytes.Buffer
	if resp.ContentLength >= 0 {
		buf.Grow(int(min(resp.ContentLength, maxBody) + 1))
	}
	_, err = buf.ReadFrom(io.LimitReader(resp.Body, maxBody+1))
	res.Duration = time.Since(start)
	res.Body = buf.Bytes()
	if int64(len(res.Body)) > maxBody {
		res.Body, res.Truncated = res.Body[:maxBody], true
		_, _ = io.CopyN(io.Discard, resp.Body, maxDrain)
	}
	if err != nil {
		res.Err = &attemptError{
			msg: "reading response: " + describe(err, ctx, sendCtx, timeout, res.Duration).Error(),
			err: err,
		}
	}
	return res
}

// attemptError has a short human message and keeps the cause for errors.As.
type attemptError struct {
	msg string
	err error
}

func (e *attemptError) Error() string { return e.msg }
func (e *attemptError) Unwrap() error { return e.err }

// describe turns a transport error into an attemptError with a short message.
func describe(err error, parent, sendCtx context.Context, timeout, elapsed time.Duration) error {
	return &attemptError{msg: message(err, parent, sendCtx, timeout, elapsed), err: err}
}

func message(err error, parent, sendCtx context.Context, timeout, elapsed time.Duration) string {
	var (
		blocked  *safehttp.BlockedError
		dnsErr   *net.DNSError
		certErr  *tls.CertificateVerificationError
		recErr   tls.RecordHeaderError
		alertErr tls.AlertError
		opErr    *net.OpError
		netErr   net.Error
	)
	took := elapsed.Round(time.Millisecond)
	switch {
	case errors.As(err, &blocked):
		return "blocked: " + blocked.Error()
	case parent.Err() != nil:
		// Not the endpoint's fault: the invocation ran out of time or stopped.
		return fmt.Sprintf("aborted after %s: %v", took, parent.Err())
	case timeout > 0 && errors.Is(sendCtx.Err(), context.DeadlineExceeded):
		return "timeout after " + timeout.String()
	case errors.As(err, &dnsErr):
		if dnsErr.IsNotFound {
			return "dns: no such host " + dnsErr.Name
		}
		if dnsErr.IsTimeout {
			return "dns: lookup of " + dnsErr.Name + " timed out"
		}
		return "dns: lookup of " + dnsErr.Name + " failed: " + dnsErr.Err
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused" + addrOf(err)
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset by the endpoint"
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return "host unreachable" + addrOf(err)
	case errors.As(err, &certErr):
		return "tls: certificate not trusted: " + certErr.Err.Error()
	case errors.As(err, &recErr):
		return "tls: the endpoint did not answer with TLS (plain HTTP on an https URL?)"
	case errors.As(err, &alertErr):
		return "tls: handshake refused by the endpoint: " + alertErr.Error()
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed by the endpoint before a complete response"
	case errors.As(err, &netErr) && netErr.Timeout():
		if errors.As(err, &opErr) && opErr.Op == "dial" {
			return fmt.Sprintf("connect timeout after %s%s", took, addrOf(err))
		}
		return fmt.Sprintf("timeout after %s: %s", took, inner(err))
	}
	return inner(err)
}

// addrOf names the remote address of a dial error, if it has one.
func addrOf(err error) string {
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Addr != nil {
		return " (" + opErr.Addr.String() + ")"
	}
	return ""
}

// inner drops url.Error's `Post "https://...":` prefix: the URL is already
// known, may be long, and may carry a token in its query.
func inner(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}
