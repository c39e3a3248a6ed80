// Package bench holds what the service's benchmarks and the cost tool
// (cmd/cost) share: an isolated deployment on stand-ins with every AWS call
// counted (Stack), DynamoDB capacity and SQS payload meters (Capacity,
// SQSMeter), a subscriber endpoint (Receiver) and a consumer that plays the
// SQS event source mapping one batch at a time (Stack.Drain).
//
// The benchmarks themselves are in this package's _test files:
//
//	go test -run '^$' -bench . -benchmem ./internal/devtools/bench
package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go/middleware"
	"github.com/google/uuid"

	"github.com/systemprompt-io/webhooks/internal/app"
	"github.com/systemprompt-io/webhooks/internal/awsx"
	"github.com/systemprompt-io/webhooks/internal/config"
	"github.com/systemprompt-io/webhooks/internal/devtools/awsmetrics"
	"github.com/systemprompt-io/webhooks/internal/devtools/localaws"
	"github.com/systemprompt-io/webhooks/internal/httpapi"
	"github.com/systemprompt-io/webhooks/internal/queue"
	"github.com/systemprompt-io/webhooks/internal/store"
)

// Meters count the AWS requests of one set of clients.
type Meters struct {
	DynamoDB *awsmetrics.Calls
	SQS      *awsmetrics.Calls
	KMS      *awsmetrics.Calls
	Capacity *Capacity
	Queue    *SQSMeter
}

// Reset zeroes every count.
func (m *Meters) Reset() {
	m.DynamoDB.Reset()
	m.SQS.Reset()
	m.KMS.Reset()
	m.Capacity.Reset()
	m.Queue.Reset()
}

// Instrument returns copies of base's clients with every call counted. base
// itself stays unmeasured (setup, and the capacity meter's own reads).
func Instrument(base *awsx.Clients) (*awsx.Clients, *Meters) {
	ddb, countDDB := awsmetrics.Counter()
	q, countSQS := awsmetrics.Counter()
	k, countKMS := awsmetrics.Counter()
	m := &Meters{DynamoDB: ddb, SQS: q, KMS: k, Capacity: NewCapacity(base.DynamoDB), Queue: NewSQSMeter()}
	with := func(opts []func(*middleware.Stack) error, more ...func(*middleware.Stack) error) []func(*middleware.Stack) error {
		return append(slices.Clone(opts), more...)
	}
	c := *base
	c.DynamoDB = dynamodb.New(base.DynamoDB.Options(), func(o *dynamodb.Options) {
		o.APIOptions = with(o.APIOptions, countDDB, m.Capacity.Option)
	})
	c.SQS = sqs.New(base.SQS.Options(), func(o *sqs.Options) { o.APIOptions = with(o.APIOptions, countSQS, m.Queue.Option) })
	c.KMS = kms.New(base.KMS.Options(), func(o *kms.Options) { o.APIOptions = with(o.APIOptions, countKMS) })
	return &c, m
}

// StackOptions tune a Stack.
type StackOptions struct {
	// Log receives the pipeline's and the API's logs (default: discarded).
	Log *slog.Logger
	// APILog, when set, receives the API's logs instead: the API then has
	// a pipeline of its own, as the API function does in AWS, so its lines
	// can be told from the delivery function's.
	APILog *slog.Logger
	// Now is the pipeline's clock (default time.Now).
	Now func() time.Time
	// CacheTTL is the delivery function's webhook cache (default 15 s).
	CacheTTL time.Duration
}

// Stack is one isolated deployment on a backend: its own tables, queues and
// KMS key, the real pipeline and API handler over instrumented clients.
type Stack struct {
	Base     *awsx.Clients // unmeasured
	Clients  *awsx.Clients // measured by Meters
	Meters   *Meters
	Config   config.Config
	URLs     queue.URLs
	Pipeline *app.Pipeline
	API      http.Handler

	queueARNs map[string]string
}

// NewStack creates the tables, queues and key on base's endpoints and wires
// the service over instrumented clients. Close removes the tables and queues.
func NewStack(ctx context.Context, base *awsx.Clients, opt StackOptions) (s *Stack, err error) {
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	sfx, err := randHex()
	if err != nil {
		return nil, err
	}
	s = &Stack{Base: base, queueARNs: map[string]string{}}
	defer func() {
		if err != nil {
			_ = s.Close(context.WithoutCancel(ctx))
		}
	}()
	tables := store.Tables{Webhooks: "bench-wh-" + sfx, Deliveries: "bench-dl-" + sfx}
	s.Config.WebhooksTable, s.Config.DeliveriesTable = tables.Webhooks, tables.Deliveries
	if err := store.CreateTables(ctx, base.DynamoDB, tables); err != nil {
		return s, fmt.Errorf("create tables: %w", err)
	}
	if s.URLs, err = queue.Ensure(ctx, base.SQS, "bench"+sfx+"-"); err != nil {
		return s, fmt.Errorf("create queues: %w", err)
	}
	key, err := base.KMS.CreateKey(ctx, &kms.CreateKeyInput{})
	if err != nil {
		return s, fmt.Errorf("create key: %w", err)
	}
	s.Config = config.Config{
		WebhooksTable: tables.Webhooks, DeliveriesTable: tables.Deliveries,
		DeliveryQueueURL: s.URLs.DeliveryQueue, EventsQueueURL: s.URLs.EventsQueue,
		KMSKeyID: aws.ToString(key.KeyMetadata.KeyId), DefaultTimeout: 5 * time.Second,
		RetentionDays: 30, AllowPrivate: true, LogLevel: slog.LevelInfo,
		// The deployed defaults: the model prices the breaker a healthy
		// endpoint goes through.
		CircuitOpenAfter: config.DefaultCircuitOpenAfter,
		CircuitCooldown:  config.DefaultCircuitCooldownMS * time.Millisecond,
		DisableAfter:     config.DefaultDisableAfterHours * time.Hour,
	}
	s.Clients, s.Meters = Instrument(base)
	if err := s.Meters.Capacity.Prepare(ctx, tables.Webhooks, tables.Deliveries); err != nil {
		return s, err
	}
	popt := app.PipelineOptions{Now: opt.Now, CacheTTL: opt.CacheTTL}
	if s.Pipeline, err = app.NewPipelineWith(s.Config, s.Clients, opt.Log, popt); err != nil {
		return s, err
	}
	apiPipeline, apiLog := s.Pipeline, opt.Log
	if opt.APILog != nil {
		apiLog = opt.APILog
		if apiPipeline, err = app.NewPipelineWith(s.Config, s.Clients, apiLog, popt); err != nil {
			return s, err
		}
	}
	apiOpts, err := app.APIOptions(s.Config, apiPipeline, apiLog)
	if err != nil {
		return s, err
	}
	if s.API, err = httpapi.New(apiOpts); err != nil {
		return s, err
	}
	return s, nil
}

// Close deletes the stack's tables and queues.
func (s *Stack) Close(ctx context.Context) error {
	var errs []error
	for _, t := range []string{s.Config.WebhooksTable, s.Config.DeliveriesTable} {
		if t == "" {
			continue
		}
		if _, err := s.Base.DynamoDB.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(t)}); err != nil {
			errs = append(errs, err)
		}
	}
	for _, u := range []string{s.URLs.DeliveryQueue, s.URLs.DeliveryDLQ, s.URLs.EventsQueue, s.URLs.EventsDLQ} {
		if u == "" {
			continue
		}
		if _, err := s.Base.SQS.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: aws.String(u)}); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func randHex() (string, error) {
	var b [5]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]), nil
}

// Do calls the API handler and decodes its JSON answer into out (may be
// nil). It returns the status code.
func (s *Stack) Do(ctx context.Context, method, path string, body any, out any, header ...string) (int, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(b)
	}
	req := httptest.NewRequestWithContext(ctx, method, path, rd)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	s.API.ServeHTTP(rec, req)
	if out != nil && rec.Body.Len() > 0 {
		if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
			return rec.Code, fmt.Errorf("%s %s: %d %s", method, path, rec.Code, rec.Body.String())
		}
	}
	return rec.Code, nil
}

// CreateWebhooks creates n webhooks from spec through the API and returns
// their ids.
func (s *Stack) CreateWebhooks(ctx context.Context, n int, spec map[string]any) ([]string, error) {
	ids := make([]string, 0, n)
	for i := range n {
		var out struct {
			ID    string          `json:"id"`
			Error json.RawMessage `json:"error"`
		}
		code, err := s.Do(ctx, http.MethodPost, "/webhooks", spec, &out)
		if err != nil {
			return ids, err
		}
		if code != http.StatusCreated {
			return ids, fmt.Errorf("create webhook %d: %d %s", i, code, out.Error)
		}
		ids = append(ids, out.ID)
	}
	return ids, nil
}

// Invocation is one call of an SQS handler.
type Invocation struct {
	Messages int
	// Duration is the handler's wall time less the capacity meter's own
	// reads during it.
	Duration time.Duration
}

// DrainResult is what a Drain did.
type DrainResult struct {
	Invocations []Invocation
	// EmptyReceives are receives that found nothing (waiting for the last
	// messages); an event source mapping under load has none, idle it has
	// its polling rate.
	EmptyReceives int
}

// Messages is the number of messages handled.
func (r DrainResult) Messages() int {
	n := 0
	for _, inv := range r.Invocations {
		n += inv.Messages
	}
	return n
}

// HandlerTimeout is the delivery function's timeout in template.yaml: the
// deadline each batch gets, as in Lambda.
const HandlerTimeout = 160 * time.Second

// Drain plays the SQS event source mapping on queueURL until want messages
// were handled: it receives up to 10 messages (1 s long poll), calls handler
// with them as an events.SQSEvent and deletes the ones not reported failed
// with one DeleteMessageBatch, one batch at a time. Receives and deletes go
// through the measured client. A reported failure is an error (the cost
// runs expect none), as is a queue that stays empty for idle.
func (s *Stack) Drain(ctx context.Context, queueURL string, want int, handler localaws.SQSHandler, idle time.Duration) (DrainResult, error) {
	var res DrainResult
	arn, err := s.queueARN(ctx, queueURL)
	if err != nil {
		return res, err
	}
	region := s.Clients.SQS.Options().Region
	lastSeen := time.Now()
	for res.Messages() < want {
		out, err := s.Clients.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:                    aws.String(queueURL),
			MaxNumberOfMessages:         10,
			WaitTimeSeconds:             1,
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll},
			MessageAttributeNames:       []string{"All"},
		})
		if err != nil {
			return res, fmt.Errorf("receive: %w", err)
		}
		if len(out.Messages) == 0 {
			res.EmptyReceives++
			if time.Since(lastSeen) > idle {
				return res, fmt.Errorf("drain %s: %d of %d messages, then nothing for %s", queueURL, res.Messages(), want, idle)
			}
			continue
		}
		lastSeen = time.Now()
		ev := localaws.ToSQSEvent(out.Messages, arn, region)
		hctx, cancel := context.WithTimeout(ctx, HandlerTimeout)
		// As Lambda's: the handler's lines carry the request id (and its bytes).
		hctx = lambdacontext.NewContext(hctx, &lambdacontext.LambdaContext{AwsRequestID: uuid.NewString()})
		side0 := s.Meters.Capacity.SideTime()
		t0 := time.Now()
		resp, err := handler(hctx, ev)
		d := time.Since(t0) - (s.Meters.Capacity.SideTime() - side0)
		cancel()
		if err != nil {
			return res, fmt.Errorf("handler: %w", err)
		}
		if len(resp.BatchItemFailures) > 0 {
			return res, fmt.Errorf("handler reported %d of %d messages failed", len(resp.BatchItemFailures), len(ev.Records))
		}
		res.Invocations = append(res.Invocations, Invocation{Messages: len(ev.Records), Duration: d})
		entries := make([]sqstypes.DeleteMessageBatchRequestEntry, len(out.Messages))
		for i, m := range out.Messages {
			entries[i] = sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle}
		}
		del, err := s.Clients.SQS.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(queueURL), Entries: entries})
		if err != nil {
			return res, fmt.Errorf("delete: %w", err)
		}
		if len(del.Failed) > 0 {
			return res, fmt.Errorf("delete: %d entries failed", len(del.Failed))
		}
	}
	return res, nil
}

func (s *Stack) queueARN(ctx context.Context, url string) (string, error) {
	if arn, ok := s.queueARNs[url]; ok {
		return arn, nil
	}
	out, err := s.Base.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(url), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn},
	})
	if err != nil {
		return "", fmt.Errorf("queue arn of %s: %w", url, err)
	}
	arn := out.Attributes[string(sqstypes.QueueAttributeNameQueueArn)]
	s.queueARNs[url] = arn
	return arn, nil
}
