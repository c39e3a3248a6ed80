package queue

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/systemprompt-io/webhooks/internal/wait"
)

// SQS is the part of the SQS client a Queue uses; *sqs.Client is one.
type SQS interface {
	SendMessage(context.Context, *sqs.SendMessageInput, ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
	SendMessageBatch(context.Context, *sqs.SendMessageBatchInput, ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
}

var _ SQS = (*sqs.Client)(nil)

// Queue sends messages to one SQS queue.
type Queue struct {
	client  SQS
	url     string
	now     func() time.Time
	sleep   func(context.Context, time.Duration) error
	retries int
	backoff time.Duration
	workers int
	groups  bool
}

// Option changes a Queue's defaults.
type Option func(*Queue)

// WithClock sets the clock that delays are measured from.
func WithClock(now func() time.Time) Option { return func(q *Queue) { q.now = now } }

// WithRetries sets how many times entries that SQS failed on its side are
// sent again (default 3), the first after base (default 50 ms), doubling.
// The SDK's own retryer already retries whole calls that failed.
func WithRetries(n int, base time.Duration) Option {
	return func(q *Queue) { q.retries, q.backoff = n, base }
}

// WithConcurrency lets SendJobs have up to n SendMessageBatch calls in
// flight at once (default 1: one after the other). A fan-out to many
// subscribers then takes about ⌈batches / n⌉ round trips instead of one per
// batch of 10.
func WithConcurrency(n int) Option {
	return func(q *Queue) { q.workers = max(n, 1) }
}

// WithFairGroups makes every job carry its webhook id as MessageGroupId
// (default off). On a standard queue that turns on SQS fair queues: when one
// webhook's jobs pile up (a slow or failing endpoint), SQS keeps the other
// webhooks' dwell time low by handing their messages out first. It changes
// neither ordering nor deduplication, which only FIFO queues have.
func WithFairGroups(on bool) Option { return func(q *Queue) { q.groups = on } }

// withSleep replaces the wait between retries (tests).
func withSleep(f func(context.Context, time.Duration) error) Option {
	return func(q *Queue) { q.sleep = f }
}

// New returns a Queue that sends to url.
func New(client SQS, url string, opts ...Option) *Queue {
	q := &Queue{client: client, url: url, now: time.Now, sleep: wait.Sleep, retries: 3, backoff: 50 * time.Millisecond, workers: 1}
	for _, o := range opts {
		o(q)
	}
	return q
}

// URL is the queue's URL.
func (q *Queue) URL() string { return q.url }

// Wait is the wait a job sent to wait gets: SQS delays messages by whole
// seconds, so it is rounded up to the next one (a job never arrives early);
// 0 for none. Plan sends exactly this wait, so a sender can record when the
// job becomes due.
func Wait(wait time.Duration) time.Duration {
	if wait <= 0 {
		return 0
	}
	if r := wait % time.Second; r != 0 && wait <= math.MaxInt64-time.Second {
		wait += time.Second - r
	}
	return wait
}

// Plan turns a wait into what a message can carry: DelaySeconds (Wait's
// whole seconds, at most MaxDelay) and, when the wait is longer than SQS can
// delay a message, the time the job becomes due (zero otherwise).
func Plan(now time.Time, wait time.Duration) (delaySeconds int32, notBefore time.Time) {
	wait = Wait(wait)
	if wait == 0 {
		return 0, time.Time{}
	}
	if wait > MaxDelay {
		return int32(MaxDelay / time.Second), now.Add(wait)
	}
	return int32(wait / time.Second), time.Time{}
}

// PartialError says which jobs of a SendJobs call were not sent. The others
// were.
type PartialError struct {
	Failed []int // indexes into the jobs, ascending
	Err    error // why each failed
}

func (e *PartialError) Error() string {
	return fmt.Sprintf("queue: %d job(s) not sent: %v", len(e.Failed), e.Err)
}

func (e *PartialError) Unwrap() error { return e.Err }

// SendJobs sends jobs in as few SendMessageBatch calls as the limits allow
// (10 entries, MaxBatchBytes). delays[i] is how long job i waits (nil: none);
// a wait over MaxDelay sets the job's NotBefore and is chained by the
// consumer (see Job.Remaining and Resend).
//
// A job that cannot be encoded (too large, invalid) fails the call before
// anything is sent. Entries SQS fails on its side are retried a few times;
// entries it refuses as the sender's fault are not. When some jobs were not
// sent, the error is a *PartialError naming them. Batches go out up to
// WithConcurrency at a time.
func (q *Queue) SendJobs(ctx context.Context, jobs []Job, delays []time.Duration) error {
	if delays != nil && len(delays) != len(jobs) {
		return fmt.Errorf("queue: send jobs: %d delays for %d jobs", len(delays), len(jobs))
	}
	now := q.now()
	entries := make([]types.SendMessageBatchRequestEntry, len(jobs))
	for i, j := range jobs {
		var wait time.Duration
		if delays != nil {
			wait = delays[i]
		}
		delay, notBefore := Plan(now, wait)
		j.NotBefore = notBefore
		body, err := j.Encode()
		if err != nil {
			return fmt.Errorf("send jobs: job %d: %w", i, err)
		}
		entries[i] = types.SendMessageBatchRequestEntry{
			Id:           aws.String(strconv.Itoa(i)),
			MessageBody:  aws.String(body),
			DelaySeconds: delay,
		}
		if q.groups {
			entries[i].MessageGroupId = aws.String(j.WebhookID)
		}
	}
	return q.sendEntries(ctx, entries, func(i int) string { return jobs[i].DeliveryID })
}

// Resend sends an early job again with the rest of its wait at now.
func (q *Queue) Resend(ctx context.Context, job Job) error {
	return q.SendJobs(ctx, []Job{job}, []time.Duration{job.Remaining(q.now())})
}

// Send sends one message body as it is (events, tests).
func (q *Queue) Send(ctx context.Context, body string) error {
	if err := checkBody(body); err != nil {
		return fmt.Errorf("queue: send message: %w", err)
	}
	if _, err := q.client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(q.url), MessageBody: aws.String(body)}); err != nil {
		return fmt.Errorf("send message to %s: %w", q.url, err)
	}
	return nil
}

// sendEntries sends entries (whose Ids are their indexes) in batches and
// retries what SQS failed on its side. name(i) names entry i in errors.
func (q *Queue) sendEntries(ctx context.Context, entries []types.SendMessageBatchRequestEntry, name func(int) string) error {
	pending := make([]int, len(entries))
	for i := range pending {
		pending[i] = i
	}
	failed := map[int]error{}
	for try := 0; len(pending) > 0; try++ {
		retry := map[int]error{}
		var (
			mu  sync.Mutex
			wg  sync.WaitGroup
			sem = make(chan struct{}, q.workers)
		)
		for _, chunk := range chunks(entries, pending) {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				f, r := q.sendChunk(ctx, entries, chunk, try, name)
				mu.Lock()
				defer mu.Unlock()
				maps.Copy(failed, f)
				maps.Copy(retry, r)
			})
		}
		wg.Wait()
		pending = pending[:0]
		for i := range retry {
			pending = append(pending, i)
		}
		slices.Sort(pending)
		if len(pending) == 0 {
			break
		}
		if err := q.sleep(ctx, q.backoff<<try); err != nil {
			for i, cause := range retry {
				failed[i] = fmt.Errorf("%w (not retried: %w)", cause, err)
			}
			break
		}
	}
	if len(failed) == 0 {
		return nil
	}
	idx := make([]int, 0, len(failed))
	for i := range failed {
		idx = append(idx, i)
	}
	slices.Sort(idx)
	errs := make([]error, len(idx))
	for k, i := range idx {
		errs[k] = failed[i]
	}
	return &PartialError{Failed: idx, Err: errors.Join(errs...)}
}

// sendChunk sends one batch and sorts its entries into those that failed for
// good and those to send again.
func (q *Queue) sendChunk(ctx context.Context, entries []types.SendMessageBatchRequestEntry, chunk []int, try int, name func(int) string) (failed, retry map[int]error) {
	failed, retry = map[int]error{}, map[int]error{}
	batch := make([]types.SendMessageBatchRequestEntry, len(chunk))
	for k, i := range chunk {
		batch[k] = entries[i]
	}
	out, err := q.client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(q.url), Entries: batch})
	if err != nil {
		// The SDK's retryer has retried the call already.
		for _, i := range chunk {
			failed[i] = fmt.Errorf("message %d (%s): %w", i, name(i), err)
		}
		return failed, retry
	}
	answered := map[string]bool{}
	for _, ok := range out.Successful {
		answered[aws.ToString(ok.Id)] = true
	}
	for _, f := range out.Failed {
		id := aws.ToString(f.Id)
		i, convErr := strconv.Atoi(id)
		if convErr != nil || !slices.Contains(chunk, i) {
			continue // not ours; the entry it should have named is caught below
		}
		answered[id] = true
		err := fmt.Errorf("message %d (%s): %s: %s", i, name(i), aws.ToString(f.Code), aws.ToString(f.Message))
		if f.SenderFault || try >= q.retries {
			failed[i] = err
		} else {
			retry[i] = err
		}
	}
	for _, i := range chunk {
		if !answered[strconv.Itoa(i)] {
			failed[i] = fmt.Errorf("message %d (%s): SQS answered neither success nor failure", i, name(i))
		}
	}
	return failed, retry
}

// chunks splits the pending entries into batches of at most MaxBatchEntries
// entries and MaxBatchBytes of bodies, in order.
func chunks(entries []types.SendMessageBatchRequestEntry, pending []int) [][]int {
	var out [][]int
	var cur []int
	size := 0
	for _, i := range pending {
		n := len(aws.ToString(entries[i].MessageBody))
		if len(cur) == MaxBatchEntries || (len(cur) > 0 && size+n > MaxBatchBytes) {
			out = append(out, cur)
			cur, size = nil, 0
		}
		cur = append(cur, i)
		size += n
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}
