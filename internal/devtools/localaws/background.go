package localaws

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// Functions are the handlers the local stack calls, as AWS would call the
// delivery and cleanup functions.
type Functions struct {
	// Delivery consumes both queues (the delivery function).
	Delivery SQSHandler
	// Cleanup runs every CleanupEvery (the cleanup function on its
	// schedule); nil runs no schedule.
	Cleanup      func(context.Context, events.EventBridgeEvent) error
	CleanupEvery time.Duration
	// Pollers is how many batches each queue's mapping has in flight
	// (default 2). AWS starts 5 per queue and adds more with the backlog.
	Pollers int
	Logger  *slog.Logger
}

// Background is what the local stack runs beside the API: one event source
// mapping per queue and the cleanup schedule.
type Background struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// StartBackground starts the event source mappings of both source queues and
// the schedule. Stop ends them: no new batch is received, batches in flight
// finish (what they did not finish comes back after the visibility timeout).
func (s *Stack) StartBackground(f Functions) (*Background, error) {
	if f.Delivery == nil {
		return nil, errors.New("local stack: a delivery handler is required")
	}
	log := f.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var esms []*ESM
	for _, u := range []string{s.Queues.DeliveryQueue, s.Queues.EventsQueue} {
		// A short long-poll: the embedded emulator does not end a long poll
		// when a delayed message becomes visible (AWS does), so a 20 s wait
		// would hold every retry up to 20 s. Receives cost nothing here.
		m, err := NewESM(s.Clients.SQS, ESMConfig{QueueURL: u, Handler: f.Delivery, Pollers: cmp.Or(f.Pollers, 2), WaitTime: time.Second, Logger: log})
		if err != nil {
			return nil, fmt.Errorf("local stack: %w", err)
		}
		esms = append(esms, m)
	}
	ctx, cancel := context.WithCancel(context.Background())
	b := &Background{cancel: cancel}
	for _, m := range esms {
		b.wg.Add(1)
		go func() { defer b.wg.Done(); _ = m.Run(ctx) }()
	}
	if f.Cleanup != nil && f.CleanupEvery > 0 {
		b.wg.Add(1)
		go func() { defer b.wg.Done(); schedule(ctx, f.CleanupEvery, f.Cleanup, log) }()
	}
	return b, nil
}

// Stop ends the background work and waits for batches in flight.
func (b *Background) Stop() {
	b.cancel()
	b.wg.Wait()
}

// schedule calls fn with a "Scheduled Event" at every tick, as an
// EventBridge schedule rule would; the first run is one interval after start.
func schedule(ctx context.Context, every time.Duration, fn func(context.Context, events.EventBridgeEvent) error, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			ev := events.EventBridgeEvent{Version: "0", ID: fmt.Sprintf("local-%d", now.UnixNano()),
				DetailType: "Scheduled Event", Source: "aws.events", Time: now.UTC(), Region: "us-east-1"}
			run, cancel := context.WithTimeout(ctx, 5*time.Minute)
			if err := fn(run, ev); err != nil {
				log.Error("scheduled cleanup failed", "error", err)
			}
			cancel()
		}
	}
}
