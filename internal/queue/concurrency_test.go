package queue

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testDeadline only keeps a broken implementation from hanging the suite.
const testDeadline = 30 * time.Second

// barrierSQS holds every SendMessageBatch call until `want` calls are in
// flight together (or the test's context ends), then answers them all; it
// fails the entries whose ids are in fail (on SQS's side).
type barrierSQS struct {
	want int
	fail map[string]bool

	mu       sync.Mutex
	inflight int
	most     int
	release  chan struct{}
	opened   bool
	calls    int
	sent     int
}

func (f *barrierSQS) SendMessage(context.Context, *sqs.SendMessageInput, ...func(*sqs.Options)) (*sqs.SendMessageOutput, error) {
	panic("not used")
}

func (f *barrierSQS) SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, _ ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	f.mu.Lock()
	f.calls++
	f.inflight++
	f.most = max(f.most, f.inflight)
	if f.inflight == f.want && !f.opened {
		f.opened = true
		close(f.release)
	}
	release := f.release
	f.mu.Unlock()
	select {
	case <-release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.inflight--
	out := &sqs.SendMessageBatchOutput{}
	for _, e := range in.Entries {
		if f.fail[aws.ToString(e.Id)] {
			out.Failed = append(out.Failed, types.BatchResultErrorEntry{Id: e.Id, Code: aws.String("InternalError"), Message: aws.String("no")})
			continue
		}
		f.sent++
		out.Successful = append(out.Successful, types.SendMessageBatchResultEntry{Id: e.Id, MessageId: aws.String("m")})
	}
	return out, nil
}

func TestSendJobsConcurrently(t *testing.T) {
	// 40 jobs are 4 batches, all in flight at once with a concurrency of 4:
	// sent one after the other they would never release each other.
	f := &barrierSQS{want: 4, release: make(chan struct{}), fail: map[string]bool{"3": true, "25": true, "39": true}}
	ctx, cancel := context.WithTimeout(context.Background(), testDeadline)
	defer cancel()
	err := New(f, "url", WithConcurrency(4), WithRetries(0, 0)).SendJobs(ctx, jobs(40), nil)
	require.NoError(t, ctx.Err(), "the batches were not sent concurrently")
	var pe *PartialError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, []int{3, 25, 39}, pe.Failed, "failed indexes, ascending, from every batch")
	assert.Equal(t, 4, f.most)
	assert.Equal(t, 4, f.calls)
	assert.Equal(t, 37, f.sent)
}

func TestSendJobsConcurrencyBound(t *testing.T) {
	// 100 jobs (10 batches) with a concurrency of 3: never more than 3 in
	// flight. The barrier opens at the third call and stays open.
	f := &barrierSQS{want: 3, release: make(chan struct{})}
	ctx, cancel := context.WithTimeout(context.Background(), testDeadline)
	defer cancel()
	require.NoError(t, New(f, "url", WithConcurrency(3)).SendJobs(ctx, jobs(100), nil))
	assert.Equal(t, 3, f.most)
	assert.Equal(t, 10, f.calls)
	assert.Equal(t, 100, f.sent)
}
