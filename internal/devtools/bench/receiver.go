package bench

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"time"
)

// Receiver is a subscriber endpoint on loopback: it reads each request's
// body, optionally waits Delay (an endpoint's latency), and answers 200 with
// a short JSON body.
type Receiver struct {
	*httptest.Server
	Delay time.Duration
	n     atomic.Int64
	bytes atomic.Int64
}

// NewReceiver starts a receiver; Close stops it.
func NewReceiver(delay time.Duration) *Receiver {
	r := &Receiver{Delay: delay}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		n, _ := io.Copy(io.Discard, req.Body)
		r.bytes.Add(n)
		if r.Delay > 0 {
			time.Sleep(r.Delay)
		}
		r.n.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	return r
}

// Requests is the number of requests answered so far.
func (r *Receiver) Requests() int64 { return r.n.Load() }

// BodyBytes is the number of body bytes received so far.
func (r *Receiver) BodyBytes() int64 { return r.bytes.Load() }

// Payload returns a JSON object of exactly size bytes (at least 32): the
// event data of the benchmarks and the cost runs ("a 1 KB payload").
func Payload(size int) json.RawMessage {
	head := `{"order_id":"ord_0193a1b2c3d4","note":"`
	tail := `"}`
	pad := max(size-len(head)-len(tail), 0)
	return json.RawMessage(head + strings.Repeat("x", pad) + tail)
}
