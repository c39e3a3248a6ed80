// Package queue is all of the service's SQS access: the queue definitions,
// the job and event message formats, and batched sends with per-message
// DelaySeconds.
package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
)

// Role says which of the service's four queues a definition is.
type Role string

const (
	RoleDelivery    Role = "delivery"     // jobs: "attempt delivery D now"
	RoleDeliveryDLQ Role = "delivery-dlq" // jobs that kept failing
	RoleEvents      Role = "events"       // events posted by other AWS services
	RoleEventsDLQ   Role = "events-dlq"   // events that kept failing
)

// Base queue names; a deployment (or a test) may put a prefix before them.
const (
	DeliveryQueueName    = "webhooks-delivery"
	DeliveryDLQName      = "webhooks-delivery-dlq"
	EventsQueueName      = "webhooks-events"
	EventsDLQName        = "webhooks-events-dlq"
	DeliveryMaxReceives  = 5
	EventsMaxReceives    = 3
	MaxDelay             = 900 * time.Second // SQS's longest DelaySeconds
	MaxMessageBytes      = 256 << 10         // see MaxPayloadBytes
	MaxBatchEntries      = 10                // SendMessageBatch / DeleteMessageBatch
	MaxBatchBytes        = 256 << 10         // the sum of a batch's bodies
	queueRetentionSecs   = 4 * 24 * 3600     // SQS default
	deadLetterRetention  = 14 * 24 * 3600    // SQS maximum
	receiveWaitTimeSecs  = 20                // long polling by default
	visibilityTimeoutSec = 960
)

// VisibilityTimeout is both source queues' visibility timeout. One function
// consumes both queues, and an event source mapping needs a visibility
// timeout at least as long as its function's timeout: 960 s allows any
// function timeout up to Lambda's 900 s maximum, plus a minute of margin. It
// is also how long a message whose handler failed waits before it is
// received again.
const VisibilityTimeout = visibilityTimeoutSec * time.Second

// Definition is one queue: its name and the attributes it is created with.
type Definition struct {
	Role Role
	Name string
	// Attributes are SQS queue attributes (VisibilityTimeout,
	// MessageRetentionPeriod, ...), without RedrivePolicy, which needs the
	// dead-letter queue's ARN: see DeadLetter and MaxReceiveCount.
	Attributes map[string]string
	// DeadLetter is the role of this queue's dead-letter queue, "" for a
	// dead-letter queue itself.
	DeadLetter Role
	// MaxReceiveCount is how many times a message is received before SQS
	// moves it to DeadLetter.
	MaxReceiveCount int
}

// Definitions returns the service's queues, dead-letter queues first (a
// source queue's redrive policy names its DLQ's ARN, so the DLQ must exist
// first). prefix is put before every name ("" in a deployment's own
// account; a unique one per test). It is the one source of truth for the
// local stack and for the test that checks template.yaml agrees.
func Definitions(prefix string) []Definition {
	source := func(visibility int) map[string]string {
		return map[string]string{
			"VisibilityTimeout":             strconv.Itoa(visibility),
			"MessageRetentionPeriod":        strconv.Itoa(queueRetentionSecs),
			"MaximumMessageSize":            strconv.Itoa(MaxMessageBytes),
			"ReceiveMessageWaitTimeSeconds": strconv.Itoa(receiveWaitTimeSecs),
			"DelaySeconds":                  "0",
		}
	}
	dlq := func() map[string]string {
		return map[string]string{
			"MessageRetentionPeriod": strconv.Itoa(deadLetterRetention),
			"MaximumMessageSize":     strconv.Itoa(MaxMessageBytes),
		}
	}
	return []Definition{
		{Role: RoleDeliveryDLQ, Name: prefix + DeliveryDLQName, Attributes: dlq()},
		{Role: RoleEventsDLQ, Name: prefix + EventsDLQName, Attributes: dlq()},
		{Role: RoleDelivery, Name: prefix + DeliveryQueueName, Attributes: source(visibilityTimeoutSec),
			DeadLetter: RoleDeliveryDLQ, MaxReceiveCount: DeliveryMaxReceives},
		{Role: RoleEvents, Name: prefix + EventsQueueName, Attributes: source(visibilityTimeoutSec),
			DeadLetter: RoleEventsDLQ, MaxReceiveCount: EventsMaxReceives},
	}
}

// RedrivePolicy returns the RedrivePolicy attribute of a source queue whose
// dead-letter queue has the given ARN.
func (d Definition) RedrivePolicy(deadLetterARN string) string {
	b, _ := json.Marshal(struct {
		DeadLetterTargetArn string `json:"deadLetterTargetArn"`
		MaxReceiveCount     string `json:"maxReceiveCount"`
	}{deadLetterARN, strconv.Itoa(d.MaxReceiveCount)})
	return string(b)
}

// URLs are the queue URLs of one deployment.
type URLs struct {
	DeliveryQueue string
	DeliveryDLQ   string
	EventsQueue   string
	EventsDLQ     string
}

func (u *URLs) set(r Role, url string) {
	switch r {
	case RoleDelivery:
		u.DeliveryQueue = url
	case RoleDeliveryDLQ:
		u.DeliveryDLQ = url
	case RoleEvents:
		u.EventsQueue = url
	case RoleEventsDLQ:
		u.EventsDLQ = url
	}
}

// Ensure creates the service's queues with the given name prefix, or brings
// existing ones to their defined attributes, and returns their URLs. Running
// it again changes nothing.
func Ensure(ctx context.Context, client *sqs.Client, prefix string) (URLs, error) {
	return EnsureDefinitions(ctx, client, Definitions(prefix))
}

// EnsureDefinitions is Ensure for edited definitions (tests shorten the
// visibility timeout, for instance). defs must list a dead-letter queue
// before the queue that names it.
func EnsureDefinitions(ctx context.Context, client *sqs.Client, defs []Definition) (URLs, error) {
	var urls URLs
	arns := map[Role]string{}
	for _, d := range defs {
		attrs := make(map[string]string, len(d.Attributes)+1)
		for k, v := range d.Attributes {
			attrs[k] = v
		}
		if d.DeadLetter != "" {
			arn, ok := arns[d.DeadLetter]
			if !ok {
				return URLs{}, fmt.Errorf("queue: ensure queue %s: its dead-letter queue (%s) is not defined before it", d.Name, d.DeadLetter)
			}
			attrs["RedrivePolicy"] = d.RedrivePolicy(arn)
		}
		url, arn, err := ensureQueue(ctx, client, d.Name, attrs)
		if err != nil {
			return URLs{}, err
		}
		arns[d.Role] = arn
		urls.set(d.Role, url)
	}
	return urls, nil
}

// ensureQueue creates a queue, or finds the one of that name, sets the
// attributes that differ from attrs, and returns its URL and ARN. (SQS
// refuses to create a queue that exists with other attributes; some
// emulators return it unchanged instead. Both end the same here.)
func ensureQueue(ctx context.Context, client *sqs.Client, name string, attrs map[string]string) (url, arn string, err error) {
	out, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	switch {
	case err == nil:
		url = aws.ToString(out.QueueUrl)
	case queueExists(err):
		got, err := client.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(name)})
		if err != nil {
			return "", "", fmt.Errorf("get url of queue %s: %w", name, err)
		}
		url = aws.ToString(got.QueueUrl)
	default:
		return "", "", fmt.Errorf("create queue %s: %w", name, err)
	}
	names := []types.QueueAttributeName{types.QueueAttributeNameQueueArn}
	for k := range attrs {
		names = append(names, types.QueueAttributeName(k))
	}
	have, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url), AttributeNames: names})
	if err != nil {
		return "", "", fmt.Errorf("get attributes of queue %s: %w", name, err)
	}
	arn = have.Attributes[string(types.QueueAttributeNameQueueArn)]
	if arn == "" {
		return "", "", fmt.Errorf("queue: get attributes of queue %s: no QueueArn", name)
	}
	differ := map[string]string{}
	for k, v := range attrs {
		// An attribute the server does not report is one it does not keep
		// (ElasticMQ: MessageRetentionPeriod, MaximumMessageSize); setting
		// it again would change nothing.
		if h, ok := have.Attributes[k]; ok && !sameAttribute(k, h, v) {
			differ[k] = v
		}
	}
	if len(differ) > 0 {
		if _, err := client.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: aws.String(url), Attributes: differ}); err != nil {
			return "", "", fmt.Errorf("update attributes of queue %s: %w", name, err)
		}
	}
	return url, arn, nil
}

// sameAttribute compares attribute values; a redrive policy is JSON whose
// maxReceiveCount one server writes as a number and another as a string.
func sameAttribute(name, have, want string) bool {
	if have == want {
		return true
	}
	if name != "RedrivePolicy" {
		return false
	}
	a, errA := parseRedrive(have)
	b, errB := parseRedrive(want)
	return errA == nil && errB == nil && a == b
}

type redrive struct {
	DeadLetterTargetArn string      `json:"deadLetterTargetArn"`
	MaxReceiveCount     json.Number `json:"maxReceiveCount"`
}

func parseRedrive(s string) (redrive, error) {
	var r redrive
	err := json.Unmarshal([]byte(s), &r)
	return r, err
}

// ParseRedrivePolicy reads a RedrivePolicy attribute: the dead-letter
// queue's ARN and maxReceiveCount.
func ParseRedrivePolicy(s string) (deadLetterARN string, maxReceiveCount int, err error) {
	r, err := parseRedrive(s)
	if err != nil {
		return "", 0, fmt.Errorf("redrive policy %q: %w", s, err)
	}
	n, err := strconv.Atoi(r.MaxReceiveCount.String())
	if err != nil {
		return "", 0, fmt.Errorf("redrive policy %q: maxReceiveCount: %w", s, err)
	}
	return r.DeadLetterTargetArn, n, nil
}

// queueExists reports whether a CreateQueue error says the queue exists with
// other attributes. The SDK's type matches AWS; the code covers emulators
// that answer with the Query protocol's name for it.
func queueExists(err error) bool {
	var exists *types.QueueNameExists
	var api smithy.APIError
	return errors.As(err, &exists) ||
		errors.As(err, &api) && (api.ErrorCode() == "QueueAlreadyExists" || api.ErrorCode() == "QueueNameExists")
}
