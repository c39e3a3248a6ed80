package bench

import (
	"context"
	"maps"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go/middleware"
)

// ChunkBytes is the unit SQS bills a request's payload in: each 64 KB
// chunk counts as one request.
const ChunkBytes = 64 << 10

// SQSUse is what the requests of one SQS operation carried.
type SQSUse struct {
	Requests int // API calls
	Messages int // messages sent or received
	Bytes    int // their bodies and message attributes
	Chunks   int // billed requests: per call ⌈payload / 64 KB⌉, at least 1
}

// SQSMeter counts SQS requests by operation with the messages they carry
// and the 64 KB chunks SQS bills them as.
type SQSMeter struct {
	mu sync.Mutex
	by map[string]SQSUse
}

// NewSQSMeter returns an empty meter.
func NewSQSMeter() *SQSMeter { return &SQSMeter{by: map[string]SQSUse{}} }

// Option is the API option that installs the meter on a client.
func (m *SQSMeter) Option(s *middleware.Stack) error {
	return s.Initialize.Add(middleware.InitializeMiddlewareFunc("bench.SQSMeter",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			op := awsmiddleware.GetOperationName(ctx)
			msgs, size := 0, 0
			switch p := in.Parameters.(type) {
			case *sqs.SendMessageInput:
				msgs, size = 1, len(aws.ToString(p.MessageBody))+attrsSize(p.MessageAttributes)
			case *sqs.SendMessageBatchInput:
				for _, e := range p.Entries {
					msgs++
					size += len(aws.ToString(e.MessageBody)) + attrsSize(e.MessageAttributes)
				}
			}
			out, md, err := next.HandleInitialize(ctx, in)
			if o, ok := out.Result.(*sqs.ReceiveMessageOutput); ok && err == nil {
				for _, msg := range o.Messages {
					msgs++
					size += len(aws.ToString(msg.Body)) + attrsSize(msg.MessageAttributes)
				}
			}
			m.add(op, msgs, size)
			return out, md, err
		}), middleware.After)
}

func (m *SQSMeter) add(op string, msgs, size int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	u := m.by[op]
	u.Requests++
	u.Messages += msgs
	u.Bytes += size
	u.Chunks += Chunks(size)
	m.by[op] = u
}

// Chunks is how many requests SQS bills a call carrying size bytes as.
func Chunks(size int) int { return max(1, (size+ChunkBytes-1)/ChunkBytes) }

func attrsSize(attrs map[string]types.MessageAttributeValue) int {
	n := 0
	for k, v := range attrs {
		n += len(k) + len(aws.ToString(v.DataType)) + len(aws.ToString(v.StringValue)) + len(v.BinaryValue)
	}
	return n
}

// Get returns the use of one operation.
func (m *SQSMeter) Get(op string) SQSUse {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.by[op]
}

// Snapshot returns the use by operation.
func (m *SQSMeter) Snapshot() map[string]SQSUse {
	m.mu.Lock()
	defer m.mu.Unlock()
	return maps.Clone(m.by)
}

// Reset forgets what was counted.
func (m *SQSMeter) Reset() {
	m.mu.Lock()
	clear(m.by)
	m.mu.Unlock()
}
