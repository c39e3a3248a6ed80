package fake

import (
	"context"
	"sync"
	"time"

	"github.com/systemprompt-io/webhooks/internal/queue"
)

// Queue is a delivery job queue that keeps what it was sent. Set SendErr to
// make SendJobs fail. Read the fields once the code under test returned.
type Queue struct {
	mu     sync.Mutex
	Sent   []queue.Job     // jobs sent with SendJobs, in order
	Delays []time.Duration // the delays they were sent with
	Resent []queue.Job     // jobs sent again with Resend
	// Recoveries are the recovery messages sent (recovery.go).
	Recoveries []queue.RecoveryMessage
	// DrainMsgs and DrainDelays are the drain messages sent (held.go).
	DrainMsgs   []queue.DrainMessage
	DrainDelays []time.Duration
	SendErr     error
}

// SendJobs keeps jobs and their delays, or fails with SendErr.
func (q *Queue) SendJobs(_ context.Context, jobs []queue.Job, delays []time.Duration) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.SendErr != nil {
		return q.SendErr
	}
	q.Sent = append(q.Sent, jobs...)
	q.Delays = append(q.Delays, delays...)
	return nil
}

// Resend keeps job.
func (q *Queue) Resend(_ context.Context, job queue.Job) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.Resent = append(q.Resent, job)
	return nil
}
