package queue

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeSQS records batches and fails entries as its script says.
type fakeSQS struct {
	mu      sync.Mutex
	batches [][]types.SendMessageBatchRequestEntry
	// fail returns, for a call number and an entry, whether to fail it and
	// whether as the sender's fault.
	fail    func(call int, e types.SendMessageBatchRequestEntry) (fail, sender bool)
	callErr func(call int) error
	sent    map[string]int32 // body -> DelaySeconds of what was accepted
	singles []string
}

var _ SQS = (*fakeSQS)(nil)

func (f *fakeSQS) SendMessage(_ context.Context, in *sqs.SendMessageInput, _ ...func(*sqs.Options)) (*sqs.SendMessageOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.singles = append(f.singles, aws.ToString(in.MessageBody))
	return &sqs.SendMessageOutput{MessageId: aws.String("m")}, nil
}

func (f *fakeSQS) SendMessageBatch(_ context.Context, in *sqs.SendMessageBatchInput, _ ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	call := len(f.batches)
	f.batches = append(f.batches, in.Entries)
	if f.callErr != nil {
		if err := f.callErr(call); err != nil {
			return nil, err
		}
	}
	if len(in.Entries) > MaxBatchEntries {
		return nil, errors.New("TooManyEntriesInBatchRequest")
	}
	size := 0
	for _, e := range in.Entries {
		size += len(aws.ToString(e.MessageBody))
	}
	if size > MaxBatchBytes {
		return nil, errors.New("BatchRequestTooLong")
	}
	out := &sqs.SendMessageBatchOutput{}
	for _, e := range in.Entries {
		if f.fail != nil {
			if fail, sender := f.fail(call, e); fail {
				code := "InternalError"
				if sender {
					code = "InvalidParameterValue"
				}
				out.Failed = append(out.Failed, types.BatchResultErrorEntry{Id: e.Id, Code: aws.String(code), Message: aws.String("no"), SenderFault: sender})
				continue
			}
		}
		if f.sent == nil {
			f.sent = map[string]int32{}
		}
		f.sent[aws.ToString(e.MessageBody)] = e.DelaySeconds
		out.Successful = append(out.Successful, types.SendMessageBatchResultEntry{Id: e.Id, MessageId: aws.String("m" + aws.ToString(e.Id))})
	}
	return out, nil
}

func jobs(n int) []Job {
	js := make([]Job, n)
	for i := range js {
		js[i] = sampleJob()
	}
	return js
}

func noSleep(waits *[]time.Duration) Option {
	return withSleep(func(_ context.Context, d time.Duration) error {
		*waits = append(*waits, d)
		return nil
	})
}

func TestSendJobsBatchesOfTen(t *testing.T) {
	f := &fakeSQS{}
	q := New(f, "url", WithClock(func() time.Time { return t0 }))
	require.NoError(t, q.SendJobs(context.Background(), jobs(25), nil))
	require.Len(t, f.batches, 3)
	assert.Len(t, f.batches[0], 10)
	assert.Len(t, f.batches[1], 10)
	assert.Len(t, f.batches[2], 5)
	assert.Len(t, f.sent, 25)
}

func TestSendJobsRespectsBatchBytes(t *testing.T) {
	js := jobs(10)
	for i := range js {
		js[i].Data = bigPayload(100 << 10) // ~100 KiB each: two per batch
	}
	f := &fakeSQS{}
	require.NoError(t, New(f, "url").SendJobs(context.Background(), js, nil))
	assert.Len(t, f.batches, 5)
	for _, b := range f.batches {
		size := 0
		for _, e := range b {
			size += len(aws.ToString(e.MessageBody))
		}
		assert.LessOrEqual(t, size, MaxBatchBytes)
	}
	assert.Len(t, f.sent, 10)
}

func TestSendJobsDelays(t *testing.T) {
	js := jobs(3)
	f := &fakeSQS{}
	q := New(f, "url", WithClock(func() time.Time { return t0 }))
	require.NoError(t, q.SendJobs(context.Background(), js, []time.Duration{0, 1500 * time.Millisecond, 2 * time.Hour}))
	require.Len(t, f.batches, 1)
	got := map[string]struct {
		delay int32
		nb    time.Time
	}{}
	for body, delay := range f.sent {
		j, err := DecodeJob(body)
		require.NoError(t, err)
		got[j.DeliveryID] = struct {
			delay int32
			nb    time.Time
		}{delay, j.NotBefore}
	}
	assert.Equal(t, int32(0), got[js[0].DeliveryID].delay)
	assert.True(t, got[js[0].DeliveryID].nb.IsZero())
	assert.Equal(t, int32(2), got[js[1].DeliveryID].delay)
	assert.True(t, got[js[1].DeliveryID].nb.IsZero())
	assert.Equal(t, int32(900), got[js[2].DeliveryID].delay)
	assert.True(t, t0.Add(2*time.Hour).Truncate(time.Millisecond).Equal(got[js[2].DeliveryID].nb))

	err := q.SendJobs(context.Background(), js, []time.Duration{0})
	assert.ErrorContains(t, err, "1 delays for 3 jobs")
}

func TestResendEarlyJob(t *testing.T) {
	now := t0
	f := &fakeSQS{}
	q := New(f, "url", WithClock(func() time.Time { return now }))
	j := sampleJob()
	j.NotBefore = t0.Add(1000 * time.Second)

	require.NoError(t, q.Resend(context.Background(), j))
	now = t0.Add(900 * time.Second)
	require.NoError(t, q.Resend(context.Background(), j))
	require.Len(t, f.batches, 2)
	first, last := f.batches[0][0], f.batches[1][0]
	assert.Equal(t, int32(900), first.DelaySeconds)
	assert.Contains(t, aws.ToString(first.MessageBody), `"not_before"`)
	assert.Equal(t, int32(100), last.DelaySeconds, "the rest of the wait")
	assert.NotContains(t, aws.ToString(last.MessageBody), `"not_before"`, "the last hop is due on arrival")
}

func TestSendJobsRetriesOnlyFailedEntries(t *testing.T) {
	// Entries 3 and 7 fail on SQS's side on the first call; 3 also on the
	// second.
	f := &fakeSQS{fail: func(call int, e types.SendMessageBatchRequestEntry) (bool, bool) {
		id := aws.ToString(e.Id)
		return call == 0 && (id == "3" || id == "7") || call == 1 && id == "3", false
	}}
	var waits []time.Duration
	require.NoError(t, New(f, "url", noSleep(&waits)).SendJobs(context.Background(), jobs(10), nil))
	require.Len(t, f.batches, 3)
	assert.Len(t, f.batches[1], 2, "only the failed entries are sent again")
	assert.Len(t, f.batches[2], 1)
	assert.Equal(t, []time.Duration{50 * time.Millisecond, 100 * time.Millisecond}, waits)
	assert.Len(t, f.sent, 10)
}

func TestSendJobsGivesUpAfterRetries(t *testing.T) {
	f := &fakeSQS{fail: func(_ int, e types.SendMessageBatchRequestEntry) (bool, bool) {
		return aws.ToString(e.Id) == "12", false
	}}
	var waits []time.Duration
	js := jobs(15)
	err := New(f, "url", noSleep(&waits), WithRetries(2, time.Millisecond)).SendJobs(context.Background(), js, nil)
	var pe *PartialError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, []int{12}, pe.Failed)
	assert.Contains(t, err.Error(), js[12].DeliveryID, "the error names the job")
	assert.Len(t, f.batches, 2+2, "two batches, then two retries of the one entry")
	assert.Len(t, f.sent, 14)
}

func TestSendJobsSenderFaultNotRetried(t *testing.T) {
	f := &fakeSQS{fail: func(_ int, e types.SendMessageBatchRequestEntry) (bool, bool) {
		return aws.ToString(e.Id) == "1", true
	}}
	var waits []time.Duration
	js := jobs(3)
	err := New(f, "url", noSleep(&waits)).SendJobs(context.Background(), js, nil)
	var pe *PartialError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, []int{1}, pe.Failed)
	assert.Contains(t, err.Error(), "InvalidParameterValue")
	assert.Contains(t, err.Error(), js[1].DeliveryID)
	assert.Len(t, f.batches, 1)
	assert.Empty(t, waits)
}

func TestSendJobsCallErrorFailsItsChunkOnly(t *testing.T) {
	f := &fakeSQS{callErr: func(call int) error {
		if call == 1 {
			return errors.New("connection reset")
		}
		return nil
	}}
	err := New(f, "url").SendJobs(context.Background(), jobs(25), nil)
	var pe *PartialError
	require.ErrorAs(t, err, &pe)
	want := []int{}
	for i := 10; i < 20; i++ {
		want = append(want, i)
	}
	assert.Equal(t, want, pe.Failed)
	assert.ErrorContains(t, err, "connection reset")
	assert.Len(t, f.sent, 15)
}

func TestSendJobsTooLargeSendsNothing(t *testing.T) {
	js := jobs(3)
	js[2].Data = bigPayload(MaxPayloadBytes + 1)
	f := &fakeSQS{}
	err := New(f, "url").SendJobs(context.Background(), js, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "job 2")
	assert.Empty(t, f.batches, "nothing is sent when one job cannot be")
}

func TestSendValidatesBody(t *testing.T) {
	f := &fakeSQS{}
	q := New(f, "url")
	require.NoError(t, q.Send(context.Background(), `{"event":"custom"}`))
	assert.Error(t, q.Send(context.Background(), ""))
	assert.Error(t, q.Send(context.Background(), strings.Repeat("a", MaxMessageBytes+1)))
	assert.Equal(t, []string{`{"event":"custom"}`}, f.singles)
}

func TestChunks(t *testing.T) {
	// 0-2 fill a batch's bytes exactly; 3-13 are eleven small ones.
	sizes := []int{10, 10, MaxBatchBytes - 20, 1, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5}
	entries := make([]types.SendMessageBatchRequestEntry, len(sizes))
	pending := make([]int, len(entries))
	for i := range entries {
		entries[i].MessageBody = aws.String(strings.Repeat("a", sizes[i]))
		entries[i].Id = aws.String(strconv.Itoa(i))
		pending[i] = i
	}
	got := chunks(entries, pending)
	assert.Equal(t, [][]int{{0, 1, 2}, {3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, {13}}, got)
	assert.Equal(t, [][]int{{5, 7}}, chunks(entries, []int{5, 7}), "only the pending entries")
}

func TestRedrivePolicy(t *testing.T) {
	var rp struct {
		DeadLetterTargetArn string `json:"deadLetterTargetArn"`
		MaxReceiveCount     string `json:"maxReceiveCount"`
	}
	defs := Definitions("p-")
	require.Len(t, defs, 4)
	d := defs[2]
	require.Equal(t, RoleDelivery, d.Role)
	require.NoError(t, json.Unmarshal([]byte(d.RedrivePolicy("arn:aws:sqs:us-east-1:1:p-webhooks-delivery-dlq")), &rp))
	assert.Equal(t, "5", rp.MaxReceiveCount)
	assert.Equal(t, "arn:aws:sqs:us-east-1:1:p-webhooks-delivery-dlq", rp.DeadLetterTargetArn)
}

func TestDefinitions(t *testing.T) {
	defs := Definitions("x-")
	byRole := map[Role]Definition{}
	pos := map[Role]int{}
	for i, d := range defs {
		byRole[d.Role] = d
		pos[d.Role] = i
	}
	assert.Equal(t, "x-webhooks-delivery", byRole[RoleDelivery].Name)
	assert.Equal(t, "x-webhooks-delivery-dlq", byRole[RoleDeliveryDLQ].Name)
	assert.Equal(t, "x-webhooks-events", byRole[RoleEvents].Name)
	assert.Equal(t, "x-webhooks-events-dlq", byRole[RoleEventsDLQ].Name)
	assert.Equal(t, 5, byRole[RoleDelivery].MaxReceiveCount)
	assert.Equal(t, 3, byRole[RoleEvents].MaxReceiveCount)
	for _, d := range defs {
		if d.DeadLetter != "" {
			assert.Less(t, pos[d.DeadLetter], pos[d.Role], "%s: its DLQ comes first", d.Name)
			// SQS counts a DLQ message's age from its first enqueue, so
			// the DLQ must keep messages longer than its source.
			src, _ := strconv.Atoi(d.Attributes["MessageRetentionPeriod"])
			dlq, _ := strconv.Atoi(byRole[d.DeadLetter].Attributes["MessageRetentionPeriod"])
			assert.Greater(t, dlq, src)
			assert.Equal(t, "960", d.Attributes["VisibilityTimeout"])
		}
		assert.Equal(t, strconv.Itoa(MaxMessageBytes), d.Attributes["MaximumMessageSize"])
	}
	// Callers may edit what they get without changing the next caller's.
	defs[2].Attributes["VisibilityTimeout"] = "1"
	assert.Equal(t, "960", Definitions("x-")[2].Attributes["VisibilityTimeout"])
}
