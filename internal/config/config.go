// Package config reads the service's configuration from environment
// variables into one validated struct. Defaults follow the seed's module.yaml.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/systemprompt-io/webhooks/internal/awsx"
)

// Config is everything the functions and the local server are configured by.
type Config struct {
	WebhooksTable    string        // TABLE_WEBHOOKS
	DeliveriesTable  string        // TABLE_DELIVERIES
	DeliveryQueueURL string        // DELIVERY_QUEUE_URL
	EventsQueueURL   string        // EVENTS_QUEUE_URL
	KMSKeyID         string        // KMS_KEY_ID: key id, ARN or alias of the secrets key
	DefaultTimeout   time.Duration // DEFAULT_TIMEOUT_MS (seed: defaultTimeout 30000)
	RetentionDays    int           // RETENTION_DAYS (seed: cleanup.retentionDays 30)
	CleanupInterval  time.Duration // CLEANUP_INTERVAL_MS (seed: cleanup.interval 86400000)
	// CleanupGraceDays (CLEANUP_GRACE_DAYS, 0..30): the cleanup sweep deletes
	// only deliveries past retention plus this many days, leaving the rest to
	// DynamoDB's TTL, which deletes for free, usually within a couple of days.
	CleanupGraceDays int
	// CircuitOpenAfter (CIRCUIT_OPEN_AFTER, 0..1000; 0 turns the breaker
	// off): consecutive failed attempts that open a webhook's circuit.
	CircuitOpenAfter int
	// CircuitCooldown (CIRCUIT_COOLDOWN_MS, 1000..3600000): how long an
	// opened circuit sends nothing before one probe; doubles per failed probe
	// up to an hour.
	CircuitCooldown time.Duration
	// DisableAfter (DISABLE_AFTER_HOURS, 0..8760; 0 turns it off): a webhook
	// whose endpoint failed every attempt for this long, and at least
	// CircuitOpenAfter times, is made inactive (status_reason auto_disabled).
	DisableAfter time.Duration
	// OperationsBus (OPERATIONS_EVENT_BUS, default "default", the account's
	// default bus): the EventBridge bus the operational events are put on.
	OperationsBus string
	AllowPrivate  bool // ALLOW_PRIVATE_TARGETS: allow loopback/private targets
	// FairQueue (FAIR_QUEUE, default true) gives each job its webhook id as
	// MessageGroupId: SQS fair queues on the standard delivery queue. Off for
	// an SQS stand-in that refuses the parameter on a standard queue.
	FairQueue bool
	LogLevel  slog.Level // LOG_LEVEL: debug, info, warn, error
	Endpoints awsx.Endpoints
}

// Defaults.
const (
	DefaultWebhooksTable     = "webhooks"
	DefaultDeliveriesTable   = "webhook-deliveries"
	DefaultTimeoutMS         = 30000
	DefaultRetentionDays     = 30
	DefaultCleanupMS         = 86400000
	DefaultCleanupGrace      = 2
	MaxCleanupGraceDays      = 30
	DefaultCircuitOpenAfter  = 10
	DefaultCircuitCooldownMS = 60000
	DefaultDisableAfterHours = 120
	DefaultOperationsBus     = "default"
)

// FromEnv reads the configuration from the process environment.
func FromEnv() (Config, error) { return Parse(os.Getenv) }

// Parse reads the configuration through getenv and validates it. Every
// problem is reported, not only the first.
func Parse(getenv func(string) string) (Config, error) {
	p := parser{getenv: getenv}
	c := Config{
		WebhooksTable:    p.str("TABLE_WEBHOOKS", DefaultWebhooksTable),
		DeliveriesTable:  p.str("TABLE_DELIVERIES", DefaultDeliveriesTable),
		DeliveryQueueURL: p.str("DELIVERY_QUEUE_URL", ""),
		EventsQueueURL:   p.str("EVENTS_QUEUE_URL", ""),
		KMSKeyID:         p.str("KMS_KEY_ID", ""),
		DefaultTimeout:   time.Duration(p.int("DEFAULT_TIMEOUT_MS", DefaultTimeoutMS, 1000, 120000)) * time.Millisecond,
		RetentionDays:    p.int("RETENTION_DAYS", DefaultRetentionDays, 1, 3650),
		CleanupInterval:  time.Duration(p.int("CLEANUP_INTERVAL_MS", DefaultCleanupMS, 1000, 365*86400000)) * time.Millisecond,
		CleanupGraceDays: p.int("CLEANUP_GRACE_DAYS", DefaultCleanupGrace, 0, MaxCleanupGraceDays),
		CircuitOpenAfter: p.int("CIRCUIT_OPEN_AFTER", DefaultCircuitOpenAfter, 0, 1000),
		CircuitCooldown:  time.Duration(p.int("CIRCUIT_COOLDOWN_MS", DefaultCircuitCooldownMS, 1000, 3600000)) * time.Millisecond,
		DisableAfter:     time.Duration(p.int("DISABLE_AFTER_HOURS", DefaultDisableAfterHours, 0, 8760)) * time.Hour,
		OperationsBus:    p.bus("OPERATIONS_EVENT_BUS", DefaultOperationsBus),
		AllowPrivate:     p.bool("ALLOW_PRIVATE_TARGETS", false),
		FairQueue:        p.bool("FAIR_QUEUE", true),
		LogLevel:         p.level("LOG_LEVEL", slog.LevelInfo),
		Endpoints: awsx.Endpoints{
			DynamoDB:    p.str("DYNAMODB_ENDPOINT", ""),
			SQS:         p.str("SQS_ENDPOINT", ""),
			KMS:         p.str("KMS_ENDPOINT", ""),
			EventBridge: p.str("EVENTBRIDGE_ENDPOINT", ""),
		},
	}
	return c, errors.Join(p.errs...)
}

// Require reports an error for each named setting that is empty. Each
// function requires only what it uses (the cleanup function needs no queue).
func (c Config) Require(names ...string) error {
	vals := map[string]string{
		"TABLE_WEBHOOKS":     c.WebhooksTable,
		"TABLE_DELIVERIES":   c.DeliveriesTable,
		"DELIVERY_QUEUE_URL": c.DeliveryQueueURL,
		"EVENTS_QUEUE_URL":   c.EventsQueueURL,
		"KMS_KEY_ID":         c.KMSKeyID,
	}
	var errs []error
	for _, n := range names {
		v, known := vals[n]
		if !known {
			errs = append(errs, fmt.Errorf("config: unknown setting %s", n))
		} else if v == "" {
			errs = append(errs, fmt.Errorf("config: %s is required", n))
		}
	}
	return errors.Join(errs...)
}

type parser struct {
	getenv func(string) string
	errs   []error
}

func (p *parser) str(name, def string) string {
	if v := strings.TrimSpace(p.getenv(name)); v != "" {
		return v
	}
	return def
}

// bus reads an EventBridge bus name or ARN (EventBridge's characters, at
// most 1600 of them).
func (p *parser) bus(name, def string) string {
	v := p.str(name, def)
	ok := len(v) <= 1600
	for _, r := range v {
		ok = ok && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-/:", r))
	}
	if !ok {
		p.errs = append(p.errs, fmt.Errorf("config: %s=%q: want an EventBridge bus name or ARN", name, v))
		return def
	}
	return v
}

func (p *parser) int(name string, def, min, max int) int {
	v := strings.TrimSpace(p.getenv(name))
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < min || n > max {
		p.errs = append(p.errs, fmt.Errorf("config: %s=%q: want a whole number from %d to %d", name, v, min, max))
		return def
	}
	return n
}

func (p *parser) bool(name string, def bool) bool {
	v := strings.TrimSpace(p.getenv(name))
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		p.errs = append(p.errs, fmt.Errorf("config: %s=%q: want true or false", name, v))
		return def
	}
	return b
}

func (p *parser) level(name string, def slog.Level) slog.Level {
	v := strings.TrimSpace(p.getenv(name))
	if v == "" {
		return def
	}
	var l slog.Level
	if err := l.UnmarshalText([]byte(v)); err != nil {
		p.errs = append(p.errs, fmt.Errorf("config: %s=%q: want debug, info, warn or error", name, v))
		return def
	}
	return l
}
