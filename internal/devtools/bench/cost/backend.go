package cost

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/sivchari/kumo"

	"github.com/systemprompt-io/webhooks/internal/awsx"
)

// Stand-in endpoints, as `make test` and `make cost` export them
// (infra/local/standins.sh).
const (
	EnvDynamoDB = "WEBHOOKS_TEST_DYNAMODB_LOCAL"
	EnvSQS      = "WEBHOOKS_TEST_ELASTICMQ"
)

// Backend is where a run sends its AWS calls.
type Backend struct {
	Clients     *awsx.Clients
	Description string
	// Reference says DynamoDB and SQS are the reference stand-ins, not the
	// embedded emulator.
	Reference bool
	close     func()
}

// Close stops what the backend started.
func (b *Backend) Close() {
	if b.close != nil {
		b.close()
	}
}

// BackendFromEnv uses the reference stand-ins named by EnvDynamoDB and
// EnvSQS when both are set, and an embedded emulator (kumo) for whatever is
// not; KMS is always the embedded emulator (as in `make test`).
func BackendFromEnv(ctx context.Context, getenv func(string) string) (*Backend, error) {
	srv := kumo.NewServer()
	// EventBridge too: a failing endpoint's operational events stay local.
	ep := awsx.Endpoints{DynamoDB: srv.URL, SQS: srv.URL, KMS: srv.URL, EventBridge: srv.URL}
	b := &Backend{close: srv.Close}
	ddb, q := getenv(EnvDynamoDB), getenv(EnvSQS)
	if ddb != "" && q != "" {
		ep.DynamoDB, ep.SQS, b.Reference = ddb, q, true
		b.Description = fmt.Sprintf("DynamoDB: %s at %s; SQS: %s at %s; KMS: embedded kumo",
			serverName(ddb), ddb, serverName(q), q)
	} else {
		b.Description = fmt.Sprintf("embedded kumo for DynamoDB, SQS and KMS (%s and %s not set: run `make cost` for the reference stand-ins)", EnvDynamoDB, EnvSQS)
	}
	c, err := awsx.New(ctx, ep)
	if err != nil {
		b.Close()
		return nil, err
	}
	b.Clients = c
	return b, nil
}

// serverName names the server behind a stand-in endpoint by its Server
// header: moto answers with Werkzeug's, DynamoDB Local with Jetty's,
// ElasticMQ with pekko-http's.
func serverName(url string) string {
	client := &http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		return "unknown server"
	}
	resp.Body.Close()
	server := strings.Join(resp.Header.Values("Server"), ", ")
	for _, k := range []struct{ marker, name string }{{"Werkzeug", "moto"}, {"Jetty", "DynamoDB Local"}, {"pekko-http", "ElasticMQ"}, {"akka-http", "ElasticMQ"}} {
		if strings.Contains(server, k.marker) {
			return fmt.Sprintf("%s (Server: %s)", k.name, server)
		}
	}
	return fmt.Sprintf("unknown server (Server: %q)", server)
}
