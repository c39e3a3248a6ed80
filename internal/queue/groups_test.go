package queue

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFairGroupIsTheWebhook(t *testing.T) {
	for _, on := range []bool{false, true} {
		f := &fakeSQS{}
		q := New(f, "u", WithFairGroups(on))
		a, b := sampleJob(), sampleJob()
		require.NoError(t, q.SendJobs(context.Background(), []Job{a, b}, nil))
		require.Len(t, f.batches, 1)
		for i, want := range []string{a.WebhookID, b.WebhookID} {
			if on {
				assert.Equal(t, want, aws.ToString(f.batches[0][i].MessageGroupId))
			} else {
				assert.Nil(t, f.batches[0][i].MessageGroupId, "no group unless asked")
			}
		}
	}
}
