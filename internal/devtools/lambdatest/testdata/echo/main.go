// Command echo is a throwaway Lambda function that proves the lambdatest
// harness end to end: it answers with its event, reads its environment on
// request, and fails on request.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
)

type request struct {
	Getenv string `json:"getenv"`
	Fail   string `json:"fail"`
}

func handle(_ context.Context, event json.RawMessage) (json.RawMessage, error) {
	var r request
	_ = json.Unmarshal(event, &r) // any JSON is echoed; only objects ask for more
	switch {
	case r.Fail != "":
		return nil, errors.New(r.Fail)
	case r.Getenv != "":
		return json.Marshal(map[string]string{r.Getenv: os.Getenv(r.Getenv)})
	}
	return event, nil
}

func main() { lambda.Start(handle) }
