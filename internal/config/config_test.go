package config

import (
	"testing"
	"time"

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

func TestCircuitSettings(t *testing.T) {
	for _, tc := range []struct {
		name, openAfter, cooldown string
		wantOpen                  int
		wantCooldown              time.Duration
		wantErr                   string
	}{
		{name: "defaults", wantOpen: 10, wantCooldown: time.Minute},
		{name: "set", openAfter: "3", cooldown: "2000", wantOpen: 3, wantCooldown: 2 * time.Second},
		{name: "off", openAfter: "0", wantOpen: 0, wantCooldown: time.Minute},
		{name: "negative", openAfter: "-1", wantErr: "CIRCUIT_OPEN_AFTER"},
		{name: "short cooldown", cooldown: "999", wantErr: "CIRCUIT_COOLDOWN_MS"},
		{name: "long cooldown", cooldown: "3600001", wantErr: "CIRCUIT_COOLDOWN_MS"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse(func(k string) string {
				return map[string]string{"CIRCUIT_OPEN_AFTER": tc.openAfter, "CIRCUIT_COOLDOWN_MS": tc.cooldown}[k]
			})
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.wantOpen, c.CircuitOpenAfter)
			assert.Equal(t, tc.wantCooldown, c.CircuitCooldown)
		})
	}
}

func TestDisableAfterHours(t *testing.T) {
	for _, tc := range []struct {
		env     string
		want    time.Duration
		wantErr bool
	}{
		{env: "", want: 120 * time.Hour},
		{env: "0", want: 0},
		{env: "8760", want: 8760 * time.Hour},
		{env: "8761", wantErr: true},
		{env: "-1", wantErr: true},
		{env: "1.5", wantErr: true},
	} {
		t.Run(tc.env, func(t *testing.T) {
			c, err := Parse(func(k string) string {
				if k == "DISABLE_AFTER_HOURS" {
					return tc.env
				}
				return ""
			})
			if tc.wantErr {
				require.Error(t, err)
				assert.Contains(t, err.Error(), "DISABLE_AFTER_HOURS")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, c.DisableAfter)
		})
	}
}

func TestOperationsBus(t *testing.T) {
	for _, tc := range []struct {
		env, want string
		wantErr   bool
	}{
		{env: "", want: "default"},
		{env: "ops-bus", want: "ops-bus"},
		{env: "arn:aws:events:us-east-1:123456789012:event-bus/ops", want: "arn:aws:events:us-east-1:123456789012:event-bus/ops"},
		{env: "two words", wantErr: true},
		{env: "bus;drop", wantErr: true},
	} {
		t.Run(tc.env, func(t *testing.T) {
			c, err := Parse(func(k string) string {
				if k == "OPERATIONS_EVENT_BUS" {
					return tc.env
				}
				return ""
			})
			if tc.wantErr {
				require.Error(t, err)
				assert.Contains(t, err.Error(), "OPERATIONS_EVENT_BUS")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, c.OperationsBus)
		})
	}
}
