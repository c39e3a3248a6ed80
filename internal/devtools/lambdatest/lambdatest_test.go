package lambdatest_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/devtools/lambdatest"
)

// TestEcho proves the harness end to end with a throwaway function: build it
// for the host, run it under the emulator, invoke it cold and warm.
func TestEcho(t *testing.T) {
	bin := lambdatest.Build(t, "./internal/devtools/lambdatest/testdata/echo")
	fn := lambdatest.Start(t, bin, map[string]string{"ECHO_SETTING": "from-env"})

	tests := []struct {
		name  string
		event string
		want  string
		fail  string // expected handler error message
	}{
		{name: "object", event: `{"hello":"world","n":[1,2,3]}`, want: `{"hello":"world","n":[1,2,3]}`},
		{name: "string", event: `"just a string"`, want: `"just a string"`},
		{name: "env passed to the function", event: `{"getenv":"ECHO_SETTING"}`, want: `{"ECHO_SETTING":"from-env"}`},
		{name: "developer env not passed", event: `{"getenv":"HOME"}`, want: `{"HOME":""}`},
		{name: "default region", event: `{"getenv":"AWS_REGION"}`, want: `{"AWS_REGION":"us-east-1"}`},
		{name: "handler error", event: `{"fail":"boom"}`, fail: "boom"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := fn.Invoke(t, []byte(tc.event))
			if tc.fail != "" {
				var fe *lambdatest.FunctionError
				require.ErrorAs(t, err, &fe)
				assert.Equal(t, tc.fail, fe.Message)
				assert.NotEmpty(t, fe.Type)
				assert.Equal(t, http.StatusOK, fe.Status, "a handler error is a 200 with an error document, as in Lambda")
				return
			}
			require.NoError(t, err)
			assert.JSONEq(t, tc.want, string(out))
		})
	}

	reports := fn.Reports()
	require.Len(t, reports, len(tests))
	// Only the first invocation started the runtime.
	assert.Positive(t, reports[0].Init, "cold start reports its init")
	for _, r := range reports[1:] {
		assert.Zero(t, r.Init, "warm invocation %s reports no init", r.RequestID)
	}
	t.Logf("echo: init %v, cold invoke %v (wall, incl. init), warm invoke %v (wall)",
		reports[0].Init, reports[0].Wall, reports[1].Wall)
}

// TestSideBySide checks that two emulators can run at once (each has its own
// runtime API port), as parallel tests of different functions need.
func TestSideBySide(t *testing.T) {
	bin := lambdatest.Build(t, "./internal/devtools/lambdatest/testdata/echo")
	a := lambdatest.Start(t, bin, map[string]string{"WHO": "a"})
	b := lambdatest.Start(t, bin, map[string]string{"WHO": "b"})
	for who, fn := range map[string]*lambdatest.Emulator{"a": a, "b": b} {
		out, err := fn.Invoke(t, []byte(`{"getenv":"WHO"}`))
		require.NoError(t, err)
		var got map[string]string
		require.NoError(t, json.Unmarshal(out, &got))
		assert.Equal(t, who, got["WHO"])
	}
}
