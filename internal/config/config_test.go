package config

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCleanupGraceDays(t *testing.T) {
	for _, tc := range []struct {
		env     string
		want    int
		wantErr bool
	}{
		{env: "", want: DefaultCleanupGrace},
		{env: "0", want: 0},
		{env: "30", want: 30},
		{env: "-1", wantErr: true},
		{env: "31", wantErr: true},
		{env: "two", wantErr: true},
	} {
		t.Run(tc.env, func(t *testing.T) {
			c, err := Parse(func(k string) string {
				if k == "CLEANUP_GRACE_DAYS" {
					return tc.env
				}
				return ""
			})
			if tc.wantErr {
				require.Error(t, err)
				assert.Contains(t, err.Error(), "CLEANUP_GRACE_DAYS")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, c.CleanupGraceDays)
		})
	}
}
