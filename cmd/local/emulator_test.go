package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/awsx"
	"github.com/systemprompt-io/webhooks/internal/config"
)

// bound is how long a test waits for something that must happen; reaching
// it fails the test. It is not a timing assertion.
const bound = 60 * time.Second

// invocation is one call the fake start-lambda received.
type invocation struct {
	fn   string
	body []byte
}

// -emulator serves the tables, queues and key on its own address, tells a
// function's environment (on stdout and in the env-vars file), and with
// -invoke feeds the delivery queue and the cleanup schedule to the functions
// behind a Lambda Invoke endpoint.
func TestEmulator(t *testing.T) {
	calls := make(chan invocation, 16)
	lambda := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fn := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/2015-03-31/functions/"), "/invocations")
		calls <- invocation{fn: fn, body: b}
		_, _ = io.WriteString(w, `{}`)
	}))
	defer lambda.Close()

	s := uuid.NewString()[:8]
	vars := map[string]string{
		"EMULATOR_PORT": "0", "WEBHOOKS_DATA_DIR": "memory", "CLEANUP_INTERVAL_MS": "1000",
		"TABLE_WEBHOOKS": "em-wh-" + s, "TABLE_DELIVERIES": "em-dl-" + s,
	}
	envFile := filepath.Join(t.TempDir(), "sam", "env.json")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stdout := &syncBuffer{}
	ready := make(chan map[string]string, 1)
	done := make(chan error, 1)
	go func() {
		done <- emulate(ctx, mode{emulator: true, envVars: envFile, invoke: lambda.URL}, func(k string) string { return vars[k] },
			stdout, io.Discard, func(env map[string]string) { ready <- env })
	}()
	var env map[string]string
	select {
	case env = <-ready:
	case err := <-done:
		t.Fatalf("emulator stopped before it was up: %v", err)
	case <-time.After(bound):
		t.Fatal("emulator not up")
	}

	endpoint := env["DYNAMODB_ENDPOINT"]
	assert.True(t, strings.HasPrefix(endpoint, "http://127.0.0.1:"), endpoint)
	assert.Equal(t, endpoint, env["SQS_ENDPOINT"])
	assert.Equal(t, endpoint, env["KMS_ENDPOINT"])
	assert.Equal(t, endpoint, env["EVENTBRIDGE_ENDPOINT"])
	assert.Equal(t, "default", env["OPERATIONS_EVENT_BUS"], "the account's default bus, which the emulator has")
	assert.Equal(t, "em-wh-"+s, env["TABLE_WEBHOOKS"])
	assert.Equal(t, "true", env["ALLOW_PRIVATE_TARGETS"], "the local default")
	assert.NotEmpty(t, env["KMS_KEY_ID"])

	// The same environment on stdout and in the file sam local reads.
	out := stdout.String()
	for k, v := range env {
		assert.Contains(t, out, "  "+k+"="+v+"\n")
	}
	assert.Contains(t, out, "data             in memory")
	raw, err := os.ReadFile(envFile)
	require.NoError(t, err)
	var file map[string]map[string]string
	require.NoError(t, json.Unmarshal(raw, &file), string(raw))
	assert.Equal(t, map[string]map[string]string{"Parameters": env}, file)

	// A function configured from it reaches the tables and queues.
	cfg, err := config.Parse(func(k string) string { return env[k] })
	require.NoError(t, err)
	require.NoError(t, cfg.Require("TABLE_WEBHOOKS", "TABLE_DELIVERIES", "DELIVERY_QUEUE_URL", "EVENTS_QUEUE_URL", "KMS_KEY_ID"))
	clients, err := awsx.New(context.Background(), cfg.Endpoints)
	require.NoError(t, err)
	_, err = clients.DynamoDB.DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String(cfg.DeliveriesTable)})
	require.NoError(t, err)
	_, err = clients.SQS.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(cfg.DeliveryQueueURL), MessageBody: aws.String(`{"probe":"` + s + `"}`)})
	require.NoError(t, err)

	// The message reaches the delivery function, and the schedule the
	// cleanup function.
	var delivered, swept bool
	for !delivered || !swept {
		select {
		case c := <-calls:
			switch c.fn {
			case deliveryFunction:
				var ev events.SQSEvent
				require.NoError(t, json.Unmarshal(c.body, &ev))
				require.Len(t, ev.Records, 1)
				assert.Equal(t, `{"probe":"`+s+`"}`, ev.Records[0].Body)
				assert.Equal(t, "aws:sqs", ev.Records[0].EventSource)
				delivered = true
			case cleanupFunction:
				var ev events.EventBridgeEvent
				require.NoError(t, json.Unmarshal(c.body, &ev))
				assert.Equal(t, "Scheduled Event", ev.DetailType)
				swept = true
			default:
				t.Fatalf("invoked %q", c.fn)
			}
		case <-time.After(bound):
			t.Fatalf("delivery invoked: %v, cleanup invoked: %v", delivered, swept)
		}
	}

	cancel()
	require.NoError(t, <-done)
	_, err = net.Dial("tcp", strings.TrimPrefix(endpoint, "http://"))
	assert.Error(t, err, "nothing listens after shutdown")
}
