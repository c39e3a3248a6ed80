package wait

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestSleep(t *testing.T) {
	for _, tc := range []struct {
		name     string
		d        time.Duration
		cancelAt time.Duration // 0: never
		want     error
		took     time.Duration
	}{
		{name: "waits the whole duration", d: 3 * time.Second, want: nil, took: 3 * time.Second},
		{name: "zero returns at once", d: 0, want: nil, took: 0},
		{name: "negative returns at once", d: -time.Second, want: nil, took: 0},
		{name: "cancelled midway", d: time.Hour, cancelAt: 2 * time.Second, want: context.Canceled, took: 2 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				if tc.cancelAt > 0 {
					time.AfterFunc(tc.cancelAt, cancel)
				}
				start := time.Now()
				err := Sleep(ctx, tc.d)
				assert.ErrorIs(t, err, tc.want)
				if tc.want == nil {
					assert.NoError(t, err)
				}
				assert.Equal(t, tc.took, time.Since(start))
			})
		})
	}
}

func TestSleepDoneContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		start := time.Now()
		assert.ErrorIs(t, Sleep(ctx, time.Minute), context.Canceled)
		assert.ErrorIs(t, Sleep(ctx, 0), context.Canceled, "even without a wait, a done context is reported")
		assert.Zero(t, time.Since(start))

		ctx, cancel = context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		assert.ErrorIs(t, Sleep(ctx, time.Minute), context.DeadlineExceeded)
		assert.Equal(t, time.Second, time.Since(start))
	})
}
