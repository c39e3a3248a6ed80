package fake

import (
	"context"
	"sync"
	"time"
)

// RateSlots counts rate slots per webhook and second in memory, as
// store.TakeRateSlot does in DynamoDB. Set Err to make takes fail.
type RateSlots struct {
	mu    sync.Mutex
	taken map[rateKey]int
	Takes int // calls, taken or refused
	Err   error
}

type rateKey struct {
	webhook string
	second  int64
}

// TakeRateSlot takes a slot of the second holding at if fewer than limit
// are taken.
func (r *RateSlots) TakeRateSlot(_ context.Context, webhookID string, at time.Time, limit int) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Takes++
	if r.Err != nil {
		return false, r.Err
	}
	if r.taken == nil {
		r.taken = map[rateKey]int{}
	}
	k := rateKey{webhookID, at.Unix()}
	if r.taken[k] >= limit {
		return false, nil
	}
	r.taken[k]++
	return true, nil
}

// Taken returns how many slots of webhookID's second holding at were taken.
func (r *RateSlots) Taken(webhookID string, at time.Time) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.taken[rateKey{webhookID, at.Unix()}]
}
