package localaws

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/google/uuid"
)

// Where the local stack keeps its state (WEBHOOKS_DATA_DIR).
const (
	// DefaultDataDir is the data directory when WEBHOOKS_DATA_DIR is unset,
	// relative to the working directory (the repository root under make).
	DefaultDataDir = ".cache/local/data"
	// InMemory as WEBHOOKS_DATA_DIR keeps everything in memory.
	InMemory = "memory"
)

// The embedded emulator (kumo) keeps the state of its services in
// $KUMO_DATA_DIR/<service>.json when that variable is set, and reads it only
// once: when its packages initialise, before main runs. So the directory is
// a property of the process, and Persist re-executes the program to set it.
//
// What it keeps: DynamoDB tables and items, SQS queues with their visible
// and delayed messages (a retry's due time included), KMS keys with their
// key material and aliases. What it does not keep: SQS messages in flight,
// received and neither deleted nor yet visible again. The event source
// mapping never abandons a receive (esm.go), so at a graceful stop the only
// such messages are those a batch reported failed in the last visibility
// timeout; they are gone after a restart.
//
// kumo writes its files at most every KUMO_PERSIST_FLUSH_INTERVAL_MS (1 s by
// default) and the embedded server has no synchronous save, so Stack.Shutdown
// waits until a mark it made last is in every file (saved).
const (
	kumoDataDirEnv = "KUMO_DATA_DIR"
	kumoFlushEnv   = "KUMO_PERSIST_FLUSH_INTERVAL_MS"
	// flushMS is the flush interval Persist asks for: a stop waits for at
	// most about one. Each flush marshals a whole service's state to JSON
	// (kumo has no incremental save, ~30 µs of CPU per delivery record): at
	// 100 ms, under load, that was two thirds of the process's CPU and most
	// of its heap once the deliveries table held ~14,000 records. With
	// cmd/local's bound on the table (LOCAL_MAX_DELIVERIES) and 2 s it is a
	// few percent; a hard crash (not a stop) loses at most 2 s of changes.
	flushMS = "2000"
)

// processDataDir is KUMO_DATA_DIR as the emulator read it: this package's
// variables are initialised after the packages it imports, kumo's included.
var processDataDir = os.Getenv(kumoDataDirEnv)

// snapshots are kumo's files of the services the stack uses.
var snapshots = []string{"dynamodb.json", "sqs.json", "kms.json"}

// DataDir resolves WEBHOOKS_DATA_DIR: "" is DefaultDataDir, InMemory is ""
// (nothing kept), anything else an absolute path.
func DataDir(v string) (string, error) {
	switch v = strings.TrimSpace(v); v {
	case InMemory:
		return "", nil
	case "":
		v = DefaultDataDir
	}
	abs, err := filepath.Abs(v)
	if err != nil {
		return "", fmt.Errorf("WEBHOOKS_DATA_DIR=%q: %w", v, err)
	}
	return abs, nil
}

// Persist makes this process's embedded emulator keep its state in dir (""
// in memory). The emulator reads its directory once, when the process
// starts, so unless it already uses dir Persist re-executes the program
// with the same arguments and KUMO_DATA_DIR=dir; it returns only if that
// fails. Call it first thing in main.
func Persist(dir string) error {
	if dir == processDataDir {
		return nil
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("local stack: keep data in %s: %w", dir, err)
	}
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, kumoDataDirEnv+"=")
	})
	if dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return fmt.Errorf("local stack: %w", err)
		}
		env = append(env, kumoDataDirEnv+"="+dir)
		if os.Getenv(kumoFlushEnv) == "" {
			env = append(env, kumoFlushEnv+"="+flushMS)
		}
	}
	// syscall.Exec keeps the process id, so a parent's signals (Ctrl-C,
	// make, a test's SIGTERM) still reach it.
	if err := syscall.Exec(exe, os.Args, env); err != nil {
		return fmt.Errorf("local stack: restart with %s=%s: %w", kumoDataDirEnv, dir, err)
	}
	return nil
}

// checkDataDir reports whether the process's emulator keeps its state where
// o asks.
func checkDataDir(o Options) error {
	if o.Endpoint != "" {
		if o.DataDir != "" {
			return errors.New("local stack: DataDir is for the embedded emulator, not one at Endpoint")
		}
		return nil
	}
	if o.DataDir != processDataDir {
		want := o.DataDir
		if want == "" {
			want = "memory"
		}
		have := processDataDir
		if have == "" {
			have = "memory"
		}
		return fmt.Errorf("local stack: data in %s asked, but this process's emulator keeps it in %s (localaws.Persist restarts the process with the right %s)",
			want, have, kumoDataDirEnv)
	}
	return nil
}

// saved returns once the emulator's files hold everything done before it
// was called: it tags a table, a queue and the key with a new mark and
// waits until the mark is in each file, which kumo writes whole.
func (s *Stack) saved(ctx context.Context) error {
	mark := "saved-" + uuid.NewString()
	const tag = "webhooks-local-saved"
	d, err := s.Clients.DynamoDB.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(s.Tables.Webhooks)})
	if err != nil {
		return fmt.Errorf("mark dynamodb: %w", err)
	}
	if _, err := s.Clients.DynamoDB.TagResource(ctx, &dynamodb.TagResourceInput{
		ResourceArn: d.Table.TableArn, Tags: []ddbtypes.Tag{{Key: aws.String(tag), Value: aws.String(mark)}},
	}); err != nil {
		return fmt.Errorf("mark dynamodb: %w", err)
	}
	if _, err := s.Clients.SQS.TagQueue(ctx, &sqs.TagQueueInput{
		QueueUrl: aws.String(s.Queues.DeliveryQueue), Tags: map[string]string{tag: mark},
	}); err != nil {
		return fmt.Errorf("mark sqs: %w", err)
	}
	if _, err := s.Clients.KMS.TagResource(ctx, &kms.TagResourceInput{
		KeyId: aws.String(s.KeyID), Tags: []kmstypes.Tag{{TagKey: aws.String(tag), TagValue: aws.String(mark)}},
	}); err != nil {
		return fmt.Errorf("mark kms: %w", err)
	}
	pending := slices.Clone(snapshots)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		pending = slices.DeleteFunc(pending, func(name string) bool {
			b, err := os.ReadFile(filepath.Join(s.dataDir, name))
			return err == nil && bytes.Contains(b, []byte(mark))
		})
		if len(pending) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%v not written to %s: %w", pending, s.dataDir, ctx.Err())
		case <-tick.C:
		}
	}
}
