package delivery

import (
	"context"
	"crypto/tls"
	"math"
	"net/http/httptrace"
	"sync"
	"time"

	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// Timings split one send's time into phases; a zero phase did not happen.
// They tell a slow network (DNS, connect, TLS) from a slow endpoint (first
// byte).
type Timings struct {
	DNS       time.Duration
	Connect   time.Duration
	TLS       time.Duration
	FirstByte time.Duration // from the request written to the first response byte
	Reused    bool          // the connection was reused: no DNS, connect or TLS
}

// tracer gathers Timings from net/http/httptrace. Its hooks may run on the
// transport's goroutines (a dial races another), hence the lock; only the
// first lookup, the first successful connect and the first handshake count.
type tracer struct {
	mu   sync.Mutex
	now  func() time.Time
	t    Timings
	dns  time.Time
	conn time.Time
	tls  time.Time
	sent time.Time
}

func newTracer() *tracer { return &tracer{now: time.Now} }

// with returns ctx carrying the tracer's hooks.
func (tr *tracer) with(ctx context.Context) context.Context {
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		DNSStart: func(httptrace.DNSStartInfo) { tr.mark(&tr.dns) },
		DNSDone:  func(httptrace.DNSDoneInfo) { tr.since(&tr.dns, &tr.t.DNS) },
		ConnectStart: func(string, string) {
			tr.mark(&tr.conn)
		},
		ConnectDone: func(_, _ string, err error) {
			if err == nil {
				tr.since(&tr.conn, &tr.t.Connect)
			}
		},
		TLSHandshakeStart: func() { tr.mark(&tr.tls) },
		TLSHandshakeDone: func(_ tls.ConnectionState, err error) {
			if err == nil {
				tr.since(&tr.tls, &tr.t.TLS)
			}
		},
		GotConn: func(info httptrace.GotConnInfo) {
			tr.mu.Lock()
			tr.t.Reused = info.Reused
			tr.mu.Unlock()
		},
		WroteRequest: func(httptrace.WroteRequestInfo) { tr.mark(&tr.sent) },
		GotFirstResponseByte: func() {
			tr.since(&tr.sent, &tr.t.FirstByte)
		},
	})
}

// mark notes a phase's start, the first time only.
func (tr *tracer) mark(at *time.Time) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if at.IsZero() {
		*at = tr.now()
	}
}

// since ends a phase that started, the first time only.
func (tr *tracer) since(start *time.Time, d *time.Duration) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if !start.IsZero() && *d == 0 {
		*d = max(tr.now().Sub(*start), time.Nanosecond) // a phase that happened is never zero
	}
}

// timings is what the tracer gathered so far.
func (tr *tracer) timings() Timings {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	t := tr.t
	if t.Reused {
		t.DNS, t.Connect, t.TLS = 0, 0, 0
	}
	return t
}

// record is t as an attempt records it: milliseconds to 0.1 ms, nil for a
// phase that did not happen.
func (t Timings) record() webhook.Timings {
	ms := func(d time.Duration) *float64 {
		if d <= 0 {
			return nil
		}
		v := math.Round(float64(d)/float64(100*time.Microsecond)) / 10
		return &v
	}
	return webhook.Timings{DNSMS: ms(t.DNS), ConnectMS: ms(t.Connect), TLSMS: ms(t.TLS), FirstByteMS: ms(t.FirstByte)}
}
