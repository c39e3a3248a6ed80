package main

import (
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPprof(t *testing.T) {
	var logs strings.Builder
	log := slog.New(slog.NewJSONHandler(&logs, nil))

	stop, err := servePprof("", log)
	require.NoError(t, err)
	stop()
	assert.Empty(t, logs.String(), "nothing served without WEBHOOKS_PPROF")

	for _, bad := range []string{"0.0.0.0:6060", ":6060", "example.com:6060", "127.0.0.1"} {
		_, err := servePprof(bad, log)
		assert.ErrorContains(t, err, "want a loopback address", bad)
	}

	stop, err = servePprof("127.0.0.1:0", log)
	require.NoError(t, err)
	defer stop()
	_, url, ok := strings.Cut(logs.String(), `"url":"`)
	require.True(t, ok, logs.String())
	url, _, _ = strings.Cut(url, `"`)
	resp, err := http.Get(url + "heap?debug=1")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, string(body), "heap profile")
}
