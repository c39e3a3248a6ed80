package localaws

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// SQSHandler is a Lambda SQS handler with partial batch responses.
type SQSHandler func(context.Context, events.SQSEvent) (events.SQSEventResponse, error)

// ESMConfig configures an ESM.
type ESMConfig struct {
	QueueURL string
	Handler  SQSHandler
	// Pollers is how many batches are in flight at once (default 1).
	Pollers int
	// BatchSize is the most messages per batch, 1 to 10 (default 10).
	BatchSize int
	// WaitTime is the long poll of each receive, at most 20 s (default 20 s).
	WaitTime time.Duration
	// Timeout bounds one handler call, as a function timeout does (default
	// 15 minutes).
	Timeout time.Duration
	// ShutdownGrace is how long batches in flight when Run's context ends
	// may go on before their context is cancelled too (default 30 s).
	ShutdownGrace time.Duration
	Logger        *slog.Logger // default slog.Default()
}

// ESM plays the Lambda SQS event source mapping (with ReportBatchItemFailures)
// for one queue: it long-polls the queue, hands each batch to the handler as
// a real events.SQSEvent, and deletes the messages that did not fail. Failed
// messages are left alone: they are received again after the queue's
// visibility timeout, and the queue's redrive policy moves them to its
// dead-letter queue after maxReceiveCount receives, as in AWS.
type ESM struct {
	client *sqs.Client
	cfg    ESMConfig
	log    *slog.Logger
}

// NewESM checks cfg and returns the mapping; Run starts it.
func NewESM(client *sqs.Client, cfg ESMConfig) (*ESM, error) {
	if client == nil || cfg.QueueURL == "" || cfg.Handler == nil {
		return nil, errors.New("event source mapping: client, queue URL and handler are required")
	}
	if cfg.Pollers == 0 {
		cfg.Pollers = 1
	}
	if cfg.BatchSize == 0 {
		cfg.BatchSize = 10
	}
	if cfg.WaitTime == 0 {
		cfg.WaitTime = 20 * time.Second
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 15 * time.Minute
	}
	if cfg.ShutdownGrace == 0 {
		cfg.ShutdownGrace = 30 * time.Second
	}
	switch {
	case cfg.Pollers < 1:
		return nil, fmt.Errorf("event source mapping: %d pollers", cfg.Pollers)
	case cfg.BatchSize < 1 || cfg.BatchSize > 10:
		return nil, fmt.Errorf("event source mapping: batch size %d is not within 1 to 10", cfg.BatchSize)
	case cfg.WaitTime < time.Second || cfg.WaitTime > 20*time.Second:
		return nil, fmt.Errorf("event source mapping: wait time %v is not within 1 s to 20 s", cfg.WaitTime)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &ESM{client: client, cfg: cfg, log: log.With("queue", cfg.QueueURL)}, nil
}

// Run polls until ctx ends, then stops receiving, lets the batches in flight
// finish (within ShutdownGrace), deletes what they processed and returns nil.
// A long poll under way when ctx ends is not abandoned but waited for (at
// most WaitTime) and what it received processed: cut off, it could have
// taken messages that only the visibility timeout would bring back, and an
// emulator that keeps its state across restarts does not keep messages in
// flight. A message received but not deleted is never lost on SQS: it is
// visible again after the visibility timeout. Run fails only when it cannot
// read the queue's ARN at start.
func (m *ESM) Run(ctx context.Context) error {
	attrs, err := m.client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(m.cfg.QueueURL),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn},
	})
	if err != nil {
		return fmt.Errorf("event source mapping %s: read queue arn: %w", m.cfg.QueueURL, err)
	}
	arn := attrs.Attributes[string(types.QueueAttributeNameQueueArn)]
	// The client's region, not the ARN's: ElasticMQ writes "elasticmq" there.
	region := m.client.Options().Region
	var wg sync.WaitGroup
	for range m.cfg.Pollers {
		wg.Go(func() { m.poll(ctx, arn, region) })
	}
	wg.Wait()
	return nil
}

// receiveSlack is how long past its WaitTime a receive may take before it is
// given up (a hung connection, not a slow queue).
const receiveSlack = 30 * time.Second

func (m *ESM) poll(ctx context.Context, arn, region string) {
	backoff := time.Duration(0)
	for ctx.Err() == nil {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), m.cfg.WaitTime+receiveSlack)
		out, err := m.client.ReceiveMessage(rctx, &sqs.ReceiveMessageInput{
			QueueUrl:                    aws.String(m.cfg.QueueURL),
			MaxNumberOfMessages:         int32(m.cfg.BatchSize),
			WaitTimeSeconds:             int32(m.cfg.WaitTime / time.Second),
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
			MessageAttributeNames:       []string{"All"},
		})
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			// Lambda keeps polling through errors; so does this, slowing
			// down so a missing queue does not spin.
			backoff = min(max(2*backoff, 100*time.Millisecond), 10*time.Second)
			m.log.Warn("receive failed", "err", err, "retry_in", backoff)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			continue
		}
		backoff = 0
		if len(out.Messages) == 0 {
			continue
		}
		// The batch runs to its end even when ctx ends meanwhile: its
		// messages are invisible already, and what it processed must be
		// deleted.
		m.process(ctx, ToSQSEvent(out.Messages, arn, region))
	}
}

// process calls the handler with one batch and deletes what succeeded.
func (m *ESM) process(runCtx context.Context, ev events.SQSEvent) {
	ctx := context.WithoutCancel(runCtx)
	hctx, cancelHandler := context.WithTimeout(ctx, m.cfg.Timeout)
	defer cancelHandler()
	// When Run's context ends, the batch has ShutdownGrace left.
	stop := context.AfterFunc(runCtx, func() {
		t := time.AfterFunc(m.cfg.ShutdownGrace, cancelHandler)
		context.AfterFunc(hctx, func() { t.Stop() })
	})
	defer stop()
	resp, err := m.call(hctx, ev)
	if err != nil {
		// A failed invocation fails the whole batch, as in Lambda.
		m.log.Error("handler failed; the batch returns to the queue", "err", err, "messages", len(ev.Records))
		return
	}
	failed, err := failures(ev, resp)
	if err != nil {
		m.log.Error("bad batch response; the batch returns to the queue", "err", err, "messages", len(ev.Records))
		return
	}
	var entries []types.DeleteMessageBatchRequestEntry
	for i, r := range ev.Records {
		if !failed[r.MessageId] {
			entries = append(entries, types.DeleteMessageBatchRequestEntry{
				Id:            aws.String(fmt.Sprint(i)),
				ReceiptHandle: aws.String(r.ReceiptHandle),
			})
		}
	}
	if len(failed) > 0 {
		m.log.Info("messages failed; they return to the queue", "failed", len(failed), "messages", len(ev.Records))
	}
	if len(entries) == 0 {
		return
	}
	dctx, cancelDelete := context.WithTimeout(ctx, 30*time.Second)
	defer cancelDelete()
	out, err := m.client.DeleteMessageBatch(dctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(m.cfg.QueueURL), Entries: entries})
	if err != nil {
		// The messages come back and are processed again: at least once.
		m.log.Error("delete failed; the processed messages will be received again", "err", err, "messages", len(entries))
		return
	}
	for _, f := range out.Failed {
		m.log.Error("delete failed; the message will be received again", "entry", aws.ToString(f.Id), "code", aws.ToString(f.Code), "message", aws.ToString(f.Message))
	}
}

// call runs the handler; a panic is a failed invocation, as in Lambda.
func (m *ESM) call(ctx context.Context, ev events.SQSEvent) (resp events.SQSEventResponse, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("handler panicked: %v\n%s", p, debug.Stack())
		}
	}()
	return m.cfg.Handler(ctx, ev)
}

// failures returns the message ids the response reports failed. Like Lambda,
// it takes an empty or unknown itemIdentifier as a failure of the whole batch.
func failures(ev events.SQSEvent, resp events.SQSEventResponse) (map[string]bool, error) {
	in := make(map[string]bool, len(ev.Records))
	for _, r := range ev.Records {
		in[r.MessageId] = true
	}
	failed := map[string]bool{}
	for _, f := range resp.BatchItemFailures {
		if !in[f.ItemIdentifier] {
			return nil, fmt.Errorf("itemIdentifier %q is not a message of the batch", f.ItemIdentifier)
		}
		failed[f.ItemIdentifier] = true
	}
	return failed, nil
}

// ToSQSEvent builds the event Lambda would deliver for received messages.
func ToSQSEvent(msgs []types.Message, queueARN, region string) events.SQSEvent {
	ev := events.SQSEvent{Records: make([]events.SQSMessage, len(msgs))}
	for i, msg := range msgs {
		r := events.SQSMessage{
			MessageId:              aws.ToString(msg.MessageId),
			ReceiptHandle:          aws.ToString(msg.ReceiptHandle),
			Body:                   aws.ToString(msg.Body),
			Md5OfBody:              aws.ToString(msg.MD5OfBody),
			Md5OfMessageAttributes: aws.ToString(msg.MD5OfMessageAttributes),
			Attributes:             map[string]string{},
			MessageAttributes:      map[string]events.SQSMessageAttribute{},
			EventSourceARN:         queueARN,
			EventSource:            "aws:sqs",
			AWSRegion:              region,
		}
		for k, v := range msg.Attributes {
			r.Attributes[k] = v
		}
		for k, v := range msg.MessageAttributes {
			r.MessageAttributes[k] = events.SQSMessageAttribute{
				StringValue:      v.StringValue,
				BinaryValue:      v.BinaryValue,
				StringListValues: nonNil(v.StringListValues),
				BinaryListValues: nonNil(v.BinaryListValues),
				DataType:         aws.ToString(v.DataType),
			}
		}
		ev.Records[i] = r
	}
	return ev
}

// nonNil makes absent lists [] in JSON, as Lambda writes them.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
