// Package testenv gives tests the AWS stand-ins to run against.
//
// The embedded emulator (kumo) is always there. The reference stand-ins, a
// second DynamoDB (moto's server: AWS's own DynamoDB Local may not be used
// on this project's machines, see README) and ElasticMQ for SQS, are there
// when `make test` started them and exported their endpoints:
//
//	WEBHOOKS_TEST_DYNAMODB_LOCAL=http://127.0.0.1:PORT
//	WEBHOOKS_TEST_ELASTICMQ=http://127.0.0.1:PORT
//
// Without them, suites that need them skip; with WEBHOOKS_TEST_STRICT=1 (set
// by `make test` and so by CI) a missing stand-in fails the test instead.
package testenv

import (
	"context"
	"os"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/sivchari/kumo"

	"github.com/systemprompt-io/webhooks/internal/awsx"
)

// Backend is one set of stand-ins a suite runs against.
type Backend struct {
	Name    string
	Clients *awsx.Clients
}

var (
	kumoOnce sync.Once
	kumoSrv  *kumo.Server
)

// KumoURL returns the endpoint of the test binary's shared embedded emulator.
func KumoURL() string {
	kumoOnce.Do(func() { kumoSrv = kumo.NewServer() })
	return kumoSrv.URL
}

// Kumo returns clients for the embedded emulator (DynamoDB, SQS, KMS and
// EventBridge).
func Kumo(t testing.TB) Backend {
	t.Helper()
	u := KumoURL()
	return Backend{Name: "kumo", Clients: clients(t, awsx.Endpoints{DynamoDB: u, SQS: u, KMS: u, EventBridge: u})}
}

// Strict reports whether missing stand-ins must fail rather than skip.
func Strict() bool { return os.Getenv("WEBHOOKS_TEST_STRICT") == "1" }

// DynamoBackends returns every backend a DynamoDB suite must run against: the
// embedded emulator and, when started, the reference DynamoDB (KMS and SQS of that
// backend still point at the emulator).
func DynamoBackends(t testing.TB) []Backend {
	t.Helper()
	bs := []Backend{Kumo(t)}
	if u := os.Getenv("WEBHOOKS_TEST_DYNAMODB_LOCAL"); u != "" {
		k := KumoURL()
		bs = append(bs, Backend{Name: "moto", Clients: clients(t, awsx.Endpoints{DynamoDB: u, SQS: k, KMS: k})})
	} else {
		missing(t, "the reference DynamoDB (WEBHOOKS_TEST_DYNAMODB_LOCAL)")
	}
	return bs
}

// SQSBackends returns every backend an SQS suite must run against: the
// embedded emulator and, when started, ElasticMQ.
func SQSBackends(t testing.TB) []Backend {
	t.Helper()
	bs := []Backend{Kumo(t)}
	if u := os.Getenv("WEBHOOKS_TEST_ELASTICMQ"); u != "" {
		k := KumoURL()
		bs = append(bs, Backend{Name: "elasticmq", Clients: clients(t, awsx.Endpoints{DynamoDB: k, SQS: u, KMS: k})})
	} else {
		missing(t, "ElasticMQ (WEBHOOKS_TEST_ELASTICMQ)")
	}
	return bs
}

// Reference returns the reference stand-ins together (DynamoDB on moto and
// ElasticMQ, KMS on the emulator), for end-to-end suites; it skips, or fails
// in strict mode, when they were not started.
func Reference(t testing.TB) Backend {
	t.Helper()
	d, q := os.Getenv("WEBHOOKS_TEST_DYNAMODB_LOCAL"), os.Getenv("WEBHOOKS_TEST_ELASTICMQ")
	if d == "" || q == "" {
		missing(t, "the reference DynamoDB and ElasticMQ")
		t.SkipNow()
	}
	return Backend{Name: "reference", Clients: clients(t, awsx.Endpoints{DynamoDB: d, SQS: q, KMS: KumoURL(), EventBridge: KumoURL()})}
}

func missing(t testing.TB, what string) {
	t.Helper()
	if Strict() {
		t.Fatalf("%s not started; `make test` starts it", what)
	}
	t.Logf("%s not started: its half of this suite is skipped (run `make test`)", what)
}

func clients(t testing.TB, ep awsx.Endpoints) *awsx.Clients {
	t.Helper()
	c, err := awsx.New(context.Background(), ep)
	if err != nil {
		t.Fatalf("aws clients: %v", err)
	}
	return c
}

// StopTTL turns TTL off on tables, before a test writes items whose expiry
// attribute is already past on the real clock. kumo deletes such items in
// the background every 30 s (and only on tables with TTL on), at a moment no
// test controls; a table without TTL keeps them until the test deletes them,
// as a DynamoDB whose TTL has not got to them yet does.
func StopTTL(t testing.TB, client *dynamodb.Client, attribute string, tables ...string) {
	t.Helper()
	for _, name := range tables {
		_, err := client.UpdateTimeToLive(context.Background(), &dynamodb.UpdateTimeToLiveInput{
			TableName: aws.String(name),
			TimeToLiveSpecification: &types.TimeToLiveSpecification{
				AttributeName: aws.String(attribute), Enabled: aws.Bool(false),
			},
		})
		if err != nil {
			t.Fatalf("turn ttl off on %s: %v", name, err)
		}
	}
}
