// Package awsmetrics counts AWS SDK calls by operation, so tests and
// benchmarks can assert how many requests (and so how much money) a piece of
// work costs.
//
//	calls, count := awsmetrics.Counter()
//	client := sqs.New(base.Options(), func(o *sqs.Options) { o.APIOptions = append(o.APIOptions, count) })
//	... work ...
//	calls.Get("SendMessageBatch")
package awsmetrics

import (
	"context"
	"maps"
	"sync"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"
)

// Calls are operation counts, safe for concurrent use.
type Calls struct {
	mu sync.Mutex
	n  map[string]int
}

// Counter returns a counter and the API option that feeds it. Add the option
// to a client's (or one call's) APIOptions; each operation call counts once,
// however often the SDK's retryer re-sends it; a call the SDK refuses
// before sending (a missing required parameter) does not count.
func Counter() (*Calls, func(*middleware.Stack) error) {
	c := &Calls{n: map[string]int{}}
	return c, c.register
}

const middlewareID = "awsmetrics.Counter"

func (c *Calls) register(s *middleware.Stack) error {
	return s.Initialize.Add(middleware.InitializeMiddlewareFunc(middlewareID,
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			c.add(awsmiddleware.GetOperationName(ctx))
			return next.HandleInitialize(ctx, in)
		}), middleware.After)
}

func (c *Calls) add(op string) {
	c.mu.Lock()
	c.n[op]++
	c.mu.Unlock()
}

// Get returns how many times op (e.g. "SendMessageBatch") was called.
func (c *Calls) Get(op string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[op]
}

// Total returns the number of calls of any operation.
func (c *Calls) Total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := 0
	for _, n := range c.n {
		t += n
	}
	return t
}

// Snapshot returns a copy of the counts by operation.
func (c *Calls) Snapshot() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.n)
}

// Reset sets every count to zero.
func (c *Calls) Reset() {
	c.mu.Lock()
	clear(c.n)
	c.mu.Unlock()
}
