// Package awsx builds the AWS SDK clients the service uses, for AWS itself or
// for a local stand-in (the embedded emulator, moto's DynamoDB, ElasticMQ).
package awsx

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// Endpoints points services at local stand-ins. An empty field means the
// service's ordinary AWS endpoint (or AWS_ENDPOINT_URL_*, which the SDK reads).
type Endpoints struct {
	DynamoDB    string
	SQS         string
	KMS         string
	EventBridge string
}

func (e Endpoints) local() bool {
	return e.DynamoDB != "" || e.SQS != "" || e.KMS != "" || e.EventBridge != ""
}

// Clients are the SDK clients of one deployment.
type Clients struct {
	Config   aws.Config
	DynamoDB *dynamodb.Client
	SQS      *sqs.Client
	KMS      *kms.Client
	// EventBridge puts the operational events on their bus.
	EventBridge *eventbridge.Client
}

// New loads the default AWS configuration (environment, shared files, the
// Lambda role) and builds the clients. With local endpoints it uses fixed
// dummy credentials and us-east-1 unless the environment names a region, so a
// developer needs no AWS account.
func New(ctx context.Context, ep Endpoints) (*Clients, error) {
	var opts []func(*config.LoadOptions) error
	if ep.local() {
		opts = append(opts,
			config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("local", "local", "")),
		)
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("load aws config: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	return FromConfig(cfg, ep), nil
}

// FromConfig builds the clients from an existing configuration.
func FromConfig(cfg aws.Config, ep Endpoints) *Clients {
	return &Clients{
		Config: cfg,
		DynamoDB: dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
			if ep.DynamoDB != "" {
				o.BaseEndpoint = aws.String(ep.DynamoDB)
				// The embedded emulator does not compute DynamoDB's CRC32
				// response checksum; local stand-ins need no such check.
				o.DisableValidateResponseChecksum = true
			}
		}),
		SQS: sqs.NewFromConfig(cfg, func(o *sqs.Options) {
			if ep.SQS != "" {
				o.BaseEndpoint = aws.String(ep.SQS)
			}
		}),
		KMS: kms.NewFromConfig(cfg, func(o *kms.Options) {
			if ep.KMS != "" {
				o.BaseEndpoint = aws.String(ep.KMS)
			}
		}),
		EventBridge: eventbridge.NewFromConfig(cfg, func(o *eventbridge.Options) {
			if ep.EventBridge != "" {
				o.BaseEndpoint = aws.String(ep.EventBridge)
			}
		}),
	}
}
