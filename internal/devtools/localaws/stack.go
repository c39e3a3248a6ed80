// Package localaws is the local stand-in for the service's AWS account: an
// embedded emulator (kumo) for DynamoDB, SQS and KMS, the resources the
// service needs created on it, and the parts of AWS that call the functions
// (the SQS event source mapping, the schedule).
package localaws

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/sivchari/kumo"

	"github.com/systemprompt-io/webhooks/internal/awsx"
	"github.com/systemprompt-io/webhooks/internal/config"
	"github.com/systemprompt-io/webhooks/internal/queue"
	"github.com/systemprompt-io/webhooks/internal/store"
)

// DefaultKeyAlias names the local credentials key.
const DefaultKeyAlias = "alias/webhooks-local"

// Options configure a Stack. The zero value is the local server's stack.
type Options struct {
	// Tables names the tables; empty names take config's defaults.
	Tables store.Tables
	// KeyAlias names the credentials key (default DefaultKeyAlias). An
	// existing alias is reused, so a restarted stack on a persistent
	// emulator still opens what it sealed.
	KeyAlias string
	// Endpoint, when set, is an emulator already running (a test's shared
	// kumo) to use instead of embedding a new one.
	Endpoint string
	// QueuePrefix is put before every queue name (queue.Definitions); tests
	// sharing an emulator give each stack its own.
	QueuePrefix string
	// Listen, when set ("127.0.0.1:4566"), is where the embedded emulator is
	// served instead of a free loopback port, so processes started apart
	// (sam local's functions, a shell) can find it.
	Listen string
	// DataDir is where the embedded emulator keeps its state across
	// restarts; empty keeps it in memory. The process must have been
	// started for it: see Persist.
	DataDir string
	// OperationsBus is the EventBridge bus the operational events go to
	// (default "default", which the emulator has); another is created.
	OperationsBus string
	Logger        *slog.Logger // default: discard
}

// Stack is a running local AWS: the emulator, SDK clients pointing at it and
// the resources created on it.
//
// Start creates the tables, the queues (queue.Ensure) and the key; the
// queues' pollers (the event source mapping, NewESM beside this file) are
// added on top of it and take s.Clients.SQS.
type Stack struct {
	Endpoint string        // the emulator's URL (DynamoDB, SQS, KMS and EventBridge)
	Clients  *awsx.Clients // SDK clients for Endpoint
	Tables   store.Tables  // created tables
	KeyID    string        // id of the credentials key
	KeyAlias string        // its alias
	Queues   queue.URLs    // created queues and their DLQs
	Bus      string        // the operational events' EventBridge bus

	srv     *kumo.Server // nil when Options.Endpoint was given
	front   *http.Server // serves srv on Options.Listen
	dataDir string
	unlock  func() // gives the data directory back
	log     *slog.Logger
}

// Start starts the emulator (unless o.Endpoint names one), builds clients
// for it, and creates the tables and the credentials key. On error nothing
// is left running.
func Start(ctx context.Context, o Options) (_ *Stack, err error) {
	if o.Tables.Webhooks == "" {
		o.Tables.Webhooks = config.DefaultWebhooksTable
	}
	if o.Tables.Deliveries == "" {
		o.Tables.Deliveries = config.DefaultDeliveriesTable
	}
	if o.KeyAlias == "" {
		o.KeyAlias = DefaultKeyAlias
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}

	if err := checkDataDir(o); err != nil {
		return nil, err
	}
	s := &Stack{Endpoint: o.Endpoint, Tables: o.Tables, KeyAlias: o.KeyAlias, log: log}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	if o.DataDir != "" {
		if s.unlock, err = lockDir(o.DataDir); err != nil {
			return nil, fmt.Errorf("local stack: %w", err)
		}
	}
	if s.Endpoint == "" {
		// Listen first: a taken port fails before anything starts.
		var ln net.Listener
		if o.Listen != "" {
			if ln, err = net.Listen("tcp", o.Listen); err != nil {
				return nil, fmt.Errorf("local stack: emulator: %w", err)
			}
		}
		s.srv = kumo.NewServer()
		s.Endpoint = s.srv.URL
		if ln != nil {
			s.serve(ln)
		}
	}
	s.Clients, err = awsx.New(ctx, s.endpoints())
	if err != nil {
		return nil, fmt.Errorf("local stack: %w", err)
	}
	if err := store.CreateTables(ctx, s.Clients.DynamoDB, s.Tables); err != nil {
		return nil, fmt.Errorf("local stack: create tables: %w", err)
	}
	if s.KeyID, err = ensureKey(ctx, s.Clients.KMS, s.KeyAlias); err != nil {
		return nil, fmt.Errorf("local stack: %w", err)
	}
	if s.Queues, err = queue.Ensure(ctx, s.Clients.SQS, o.QueuePrefix); err != nil {
		return nil, fmt.Errorf("local stack: create queues: %w", err)
	}
	if s.Bus, err = EnsureBus(ctx, s.Clients.EventBridge, o.OperationsBus); err != nil {
		return nil, fmt.Errorf("local stack: %w", err)
	}
	s.dataDir = o.DataDir // only now: Shutdown's mark needs the resources
	log.Info("local aws stack up", "endpoint", s.Endpoint, "data_dir", s.dataDir,
		"webhooks_table", s.Tables.Webhooks, "deliveries_table", s.Tables.Deliveries, "kms_key", s.KeyAlias)
	return s, nil
}

// serve puts the embedded emulator on ln: kumo's own server listens on a
// port of its choosing, so a fixed address is a proxy in front of it.
func (s *Stack) serve(ln net.Listener) {
	target, _ := url.Parse(s.srv.URL) // kumo's URL is always http://127.0.0.1:port
	p := httputil.NewSingleHostReverseProxy(target)
	p.ErrorLog = slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)
	s.front = &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second, ErrorLog: p.ErrorLog}
	s.Endpoint = "http://" + ln.Addr().String()
	go func() { _ = s.front.Serve(ln) }()
}

// EnsureBus makes sure the EventBridge bus name exists ("default" always
// does) and returns its name.
func EnsureBus(ctx context.Context, client *eventbridge.Client, name string) (string, error) {
	if name == "" || name == config.DefaultOperationsBus {
		return config.DefaultOperationsBus, nil
	}
	if _, err := client.DescribeEventBus(ctx, &eventbridge.DescribeEventBusInput{Name: aws.String(name)}); err == nil {
		return name, nil
	}
	if _, err := client.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(name)}); err != nil {
		var exists *ebtypes.ResourceAlreadyExistsException
		if !errors.As(err, &exists) {
			return "", fmt.Errorf("create event bus %s: %w", name, err)
		}
	}
	return name, nil
}

// endpoints points every service at the emulator.
func (s *Stack) endpoints() awsx.Endpoints {
	return awsx.Endpoints{DynamoDB: s.Endpoint, SQS: s.Endpoint, KMS: s.Endpoint, EventBridge: s.Endpoint}
}

// ensureKey returns the id of the key behind alias, creating both if needed.
func ensureKey(ctx context.Context, client *kms.Client, alias string) (string, error) {
	d, err := client.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(alias)})
	if err == nil {
		return aws.ToString(d.KeyMetadata.KeyId), nil
	}
	var nf *kmstypes.NotFoundException
	if !errors.As(err, &nf) {
		return "", fmt.Errorf("describe key %s: %w", alias, err)
	}
	k, err := client.CreateKey(ctx, &kms.CreateKeyInput{
		Description: aws.String("webhooks: local credentials key"),
		KeyUsage:    kmstypes.KeyUsageTypeEncryptDecrypt,
		KeySpec:     kmstypes.KeySpecSymmetricDefault,
	})
	if err != nil {
		return "", fmt.Errorf("create key: %w", err)
	}
	id := aws.ToString(k.KeyMetadata.KeyId)
	if _, err := client.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String(alias), TargetKeyId: aws.String(id)}); err != nil {
		return "", fmt.Errorf("create alias %s: %w", alias, err)
	}
	return id, nil
}

// Config returns base pointed at the stack: its endpoints, tables, queues
// and key.
func (s *Stack) Config(base config.Config) config.Config {
	base.WebhooksTable = s.Tables.Webhooks
	base.DeliveriesTable = s.Tables.Deliveries
	base.DeliveryQueueURL = s.Queues.DeliveryQueue
	base.EventsQueueURL = s.Queues.EventsQueue
	base.KMSKeyID = s.KeyID
	base.OperationsBus = s.Bus
	base.Endpoints = s.endpoints()
	return base
}

// Env is the environment a function needs to use the stack: its endpoints,
// tables, queues and key, under the names internal/config reads.
func (s *Stack) Env() map[string]string {
	return map[string]string{
		"DYNAMODB_ENDPOINT":    s.Endpoint,
		"SQS_ENDPOINT":         s.Endpoint,
		"KMS_ENDPOINT":         s.Endpoint,
		"EVENTBRIDGE_ENDPOINT": s.Endpoint,
		"OPERATIONS_EVENT_BUS": s.Bus,
		"TABLE_WEBHOOKS":       s.Tables.Webhooks,
		"TABLE_DELIVERIES":     s.Tables.Deliveries,
		"DELIVERY_QUEUE_URL":   s.Queues.DeliveryQueue,
		"EVENTS_QUEUE_URL":     s.Queues.EventsQueue,
		"KMS_KEY_ID":           s.KeyID,
	}
}

// Ready reports whether the stack's tables and key answer, for /healthz.
func (s *Stack) Ready(ctx context.Context) error {
	for _, t := range []string{s.Tables.Webhooks, s.Tables.Deliveries} {
		d, err := s.Clients.DynamoDB.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(t)})
		if err != nil {
			return fmt.Errorf("table %s: %w", t, err)
		}
		if st := d.Table.TableStatus; st != "ACTIVE" {
			return fmt.Errorf("table %s is %s", t, st)
		}
	}
	if _, err := s.Clients.KMS.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(s.KeyID)}); err != nil {
		return fmt.Errorf("key %s: %w", s.KeyAlias, err)
	}
	return nil
}

// Shutdown stops the embedded emulator once its state is on disk (with a
// DataDir; in memory it is gone), waiting at most until ctx ends; call it
// when nothing uses the stack any more. A stack on a given Endpoint leaves
// that emulator running.
func (s *Stack) Shutdown(ctx context.Context) error {
	var err error
	if s.dataDir != "" && s.srv != nil {
		if err = s.saved(ctx); err != nil {
			err = fmt.Errorf("local stack: keep data in %s: %w", s.dataDir, err)
		}
	}
	s.close()
	return err
}

// Close is Shutdown with at most 10 s to save, logging a failure.
func (s *Stack) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		s.log.Error("local stack shutdown", "error", err)
	}
}

func (s *Stack) close() {
	if s.front != nil {
		_ = s.front.Close()
		s.front = nil
	}
	if s.srv != nil {
		s.srv.Close()
		s.srv = nil
	}
	if s.unlock != nil {
		s.unlock()
		s.unlock = nil
	}
}
