package delivery

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/webhook"
)

func TestSendTimings(t *testing.T) {
	slow := 30 * time.Millisecond
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(slow) // the endpoint's own time, before its first byte
		w.WriteHeader(http.StatusNoContent)
	})
	plain := httptest.NewServer(h)
	t.Cleanup(plain.Close)
	secure := httptest.NewTLSServer(h)
	t.Cleanup(secure.Close)

	send := func(t *testing.T, client *http.Client, url string) Result {
		t.Helper()
		req, err := http.NewRequestWithContext(context.Background(), "POST", url, strings.NewReader("{}"))
		require.NoError(t, err)
		res := Send(context.Background(), client, req, 5*time.Second, 0)
		require.NoError(t, res.Err)
		return res
	}
	some := func(t *testing.T, name string, v *float64) {
		t.Helper()
		if assert.NotNil(t, v, name) {
			assert.Greater(t, *v, 0.0, name)
		}
	}

	t.Run("new connection to an address", func(t *testing.T) {
		res := send(t, &http.Client{Transport: &http.Transport{}}, plain.URL)
		tm := res.Timings.record()
		assert.Nil(t, tm.DNSMS, "an IP address needs no lookup")
		some(t, "connect", tm.ConnectMS)
		assert.Nil(t, tm.TLSMS, "plain http")
		some(t, "first byte", tm.FirstByteMS)
		assert.GreaterOrEqual(t, *tm.FirstByteMS, float64(slow.Milliseconds()), "the endpoint's wait is in the first byte")
		assert.LessOrEqual(t, res.Timings.FirstByte, res.Duration)
	})
	t.Run("by name, then reused", func(t *testing.T) {
		client := &http.Client{Transport: &http.Transport{}}
		url := strings.Replace(plain.URL, "127.0.0.1", "localhost", 1)
		tm := send(t, client, url).Timings.record()
		some(t, "dns", tm.DNSMS)
		some(t, "connect", tm.ConnectMS)
		again := send(t, client, url).Timings.record()
		assert.Nil(t, again.DNSMS, "reused connection")
		assert.Nil(t, again.ConnectMS, "reused connection")
		assert.Nil(t, again.TLSMS)
		some(t, "first byte", again.FirstByteMS)
	})
	t.Run("tls", func(t *testing.T) {
		tm := send(t, secure.Client(), secure.URL).Timings.record()
		some(t, "connect", tm.ConnectMS)
		some(t, "tls", tm.TLSMS)
		some(t, "first byte", tm.FirstByteMS)
	})
	t.Run("no answer", func(t *testing.T) {
		req, err := http.NewRequest("POST", "http://127.0.0.1:1/", nil)
		require.NoError(t, err)
		res := Send(context.Background(), &http.Client{Transport: &http.Transport{}}, req, time.Second, 0)
		require.Error(t, res.Err)
		tm := res.Timings.record()
		assert.Nil(t, tm.ConnectMS, "a refused connect is no connect time")
		assert.Nil(t, tm.FirstByteMS)
	})
}

func TestTimingsRecord(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	for _, tc := range []struct {
		name string
		in   Timings
		want webhook.Timings
	}{
		{"none", Timings{}, webhook.Timings{}},
		{"rounded to 0.1 ms", Timings{DNS: 1234567 * time.Nanosecond, Connect: 50 * time.Microsecond, TLS: 49 * time.Microsecond, FirstByte: 2 * time.Second},
			webhook.Timings{DNSMS: f(1.2), ConnectMS: f(0.1), TLSMS: f(0), FirstByteMS: f(2000)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, tc.in.record())
		})
	}
}
