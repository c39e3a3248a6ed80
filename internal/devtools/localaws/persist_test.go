package localaws

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/secrets"
)

// child makes the test binary a process that uses a persistent stack (the
// emulator reads its data directory once per process): "write" seals a
// secret and queues a message, "read" prints what it finds.
const child = "LOCALAWS_TEST_CHILD"

func TestMain(m *testing.M) {
	if role := os.Getenv(child); role != "" {
		if err := childMain(role, os.Getenv(child+"_DIR")); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func childMain(role, dir string) error {
	if err := Persist(dir); err != nil {
		return err
	}
	ctx := context.Background()
	s, err := Start(ctx, Options{DataDir: dir})
	if err != nil {
		return err
	}
	defer s.Close()
	k := secrets.NewKMS(s.Clients.KMS, s.KeyAlias)
	switch role {
	case "write":
		sealed, err := k.Seal(ctx, "wh_0123456789abcdef0123456789abcdef", map[string]string{"token": "kept"})
		if err != nil {
			return err
		}
		if _, err := s.Clients.SQS.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(s.Queues.DeliveryQueue),
			MessageBody: aws.String(base64.StdEncoding.EncodeToString(sealed)), DelaySeconds: 1}); err != nil {
			return err
		}
		// Shutdown, not the deferred Close: its error must fail the child.
		return s.Shutdown(ctx)
	case "read":
		out, err := s.Clients.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(s.Queues.DeliveryQueue), WaitTimeSeconds: 5})
		if err != nil {
			return err
		}
		for _, m := range out.Messages {
			sealed, err := base64.StdEncoding.DecodeString(aws.ToString(m.Body))
			if err != nil {
				return err
			}
			got, err := k.Open(ctx, "wh_0123456789abcdef0123456789abcdef", sealed)
			if err != nil {
				return err
			}
			fmt.Printf("opened %s\n", got["token"])
		}
		return nil
	}
	return fmt.Errorf("unknown role %q", role)
}

// What a process did just before its stack's Shutdown is there for the
// next process on the same directory: a delayed message, and the key that
// opens what the first sealed. The emulator writes its files only every
// flush interval (2 s here), so without Shutdown's wait the message would
// be lost.
func TestStackKeepsStateAcrossProcesses(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	exe, err := os.Executable()
	require.NoError(t, err)
	run := func(role string) string {
		cmd := exec.Command(exe, "-test.run=^$")
		cmd.Env = append(os.Environ(), child+"="+role, child+"_DIR="+dir, kumoFlushEnv+"=2000")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s: %s", role, out)
		return string(out)
	}
	run("write")
	for _, f := range snapshots {
		assert.FileExists(t, filepath.Join(dir, f))
	}
	out := run("read")
	assert.Equal(t, 1, strings.Count(out, "opened kept\n"), out)
}

// One stack per data directory: a second is refused until the first is
// gone.
func TestLockDir(t *testing.T) {
	dir := t.TempDir()
	release, err := lockDir(dir)
	require.NoError(t, err)
	_, err = lockDir(dir)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "in use by another local stack")
	release()
	release, err = lockDir(dir)
	require.NoError(t, err, "free again")
	release()
}
