package loadtest

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/systemprompt-io/webhooks/internal/delivery"
)

// maxBody bounds what the receiver reads of a request.
const maxBody = 1 << 20

// receiver is the subscriber endpoint of a run, on 127.0.0.1: it records
// every request and answers 200 at once. Done is closed once every expected
// delivery has been accepted.
type receiver struct {
	URL  string
	srv  *http.Server
	run  string
	done chan struct{}

	mu       sync.Mutex
	arrivals []Arrival
	events   int
	webhooks map[string]bool
	accepted map[key]bool
}

// newReceiver listens on a free loopback port for the deliveries of run.
func newReceiver(run string) (*receiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &receiver{URL: "http://" + ln.Addr().String() + "/hook", run: run, done: make(chan struct{})}
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = r.srv.Serve(ln) }()
	return r, nil
}

// expect says which deliveries to wait for: events 0..events-1 to each of
// webhooks.
func (r *receiver) expect(events int, webhooks []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = events
	r.webhooks = make(map[string]bool, len(webhooks))
	for _, w := range webhooks {
		r.webhooks[w] = true
	}
	r.accepted = make(map[key]bool, events*len(webhooks))
	r.arrivals = make([]Arrival, 0, events*len(webhooks))
}

// payload is what the receiver reads of a delivery's body.
type payload struct {
	WebhookID string `json:"webhook_id"`
	Data      struct {
		Run string `json:"run"`
		Seq *int   `json:"seq"`
	} `json:"data"`
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	at := time.Now()
	body, _ := io.ReadAll(io.LimitReader(req.Body, maxBody))
	a := Arrival{
		Seq:        -1,
		WebhookID:  req.Header.Get(delivery.HeaderWebhookID),
		DeliveryID: req.Header.Get(delivery.HeaderDelivery),
		Status:     http.StatusOK,
		At:         at,
	}
	a.Attempt, _ = strconv.Atoi(req.Header.Get(delivery.HeaderAttempt))
	var p payload
	if json.Unmarshal(body, &p) == nil && p.Data.Run == r.run && p.Data.Seq != nil && p.WebhookID == a.WebhookID {
		a.Seq = *p.Data.Seq
	}
	r.record(a)
	w.WriteHeader(a.Status)
}

func (r *receiver) record(a Arrival) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.arrivals = append(r.arrivals, a)
	k := key{a.Seq, a.WebhookID}
	if a.succeeded() && a.Seq >= 0 && a.Seq < r.events && r.webhooks[a.WebhookID] && !r.accepted[k] {
		r.accepted[k] = true
		if len(r.accepted) == r.events*len(r.webhooks) {
			close(r.done)
		}
	}
}

// snapshot returns the arrivals so far, in the order they arrived.
func (r *receiver) snapshot() []Arrival {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.arrivals)
}

func (r *receiver) close() { _ = r.srv.Close() }
