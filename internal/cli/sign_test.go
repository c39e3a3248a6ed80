package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// captureTransport answers every request itself, so a test can aim the CLI at
// a non-loopback endpoint without any traffic leaving the process.
type captureTransport struct {
	mu   sync.Mutex
	reqs []*http.Request
	body [][]byte
}

func (c *captureTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	var b []byte
	if r.Body != nil {
		b, _ = io.ReadAll(r.Body)
		r.Body.Close()
	}
	c.mu.Lock()
	c.reqs = append(c.reqs, r)
	c.body = append(c.body, b)
	c.mu.Unlock()
	return &http.Response{
		StatusCode: 202,
		Header:     http.Header{"Content-Type": {"application/json"}},
		Body:       io.NopCloser(strings.NewReader(`{"event_id":"` + evtID + `","deliveries":1}`)),
		Request:    r,
	}, nil
}

var testCreds = aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", SessionToken: "session-token"}

func awsConfig(region string, gotRegion *string) func(context.Context, string) (aws.Config, error) {
	return func(_ context.Context, r string) (aws.Config, error) {
		*gotRegion = r
		return aws.Config{
			Region:      region,
			Credentials: credentials.NewStaticCredentialsProvider(testCreds.AccessKeyID, testCreds.SecretAccessKey, testCreds.SessionToken),
		}, nil
	}
}

// TestSigV4 checks that a request to a deployed API carries the Authorization
// header the AWS SDK's signer produces for it, with the right scope.
func TestSigV4(t *testing.T) {
	cases := []struct {
		name       string
		endpoint   string
		args       []string
		cfgRegion  string // what the AWS config chain would say
		wantRegion string
	}{
		{"region from the API Gateway host", "https://abc123defg.execute-api.eu-west-1.amazonaws.com", nil, "us-east-1", "eu-west-1"},
		{"--region wins", "https://abc123defg.execute-api.eu-west-1.amazonaws.com", []string{"--region", "ap-south-1"}, "us-east-1", "ap-south-1"},
		{"custom domain: region of the AWS config", "https://webhooks.example.com/v1", nil, "eu-central-1", "eu-central-1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tr := &captureTransport{}
			var asked string
			args := append([]string{"trigger", "--event", "custom", "--data", `{"n":1}`, "--idempotency-key", "k1"}, tc.args...)
			got := runCLI(t, tc.endpoint, runOpts{http: &http.Client{Transport: tr}, aws: awsConfig(tc.cfgRegion, &asked)}, args...)
			require.Equal(t, ExitOK, got.code, got.stderr)
			assert.Equal(t, "Triggered custom as "+evtID+": 1 delivery queued\n", got.stdout)
			require.Len(t, tr.reqs, 1)
			req, body := tr.reqs[0], tr.body[0]
			assert.JSONEq(t, `{"event":"custom","data":{"n":1}}`, string(body))
			if len(tc.args) > 0 {
				assert.Equal(t, tc.wantRegion, asked, "--region is passed to the AWS config loader")
			}

			auth := req.Header.Get("Authorization")
			assert.Equal(t, "20261128T160605Z", req.Header.Get("X-Amz-Date"), "signed at the injected clock")
			assert.Equal(t, "session-token", req.Header.Get("X-Amz-Security-Token"))
			assert.True(t, strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261128/"+tc.wantRegion+"/execute-api/aws4_request, "), auth)
			assert.Contains(t, auth, " SignedHeaders=accept;content-length;content-type;host;idempotency-key;x-amz-date;x-amz-security-token, ")

			// Sign the same request independently with the SDK's signer.
			again, err := http.NewRequest(req.Method, req.URL.String(), bytes.NewReader(body))
			require.NoError(t, err)
			for k, vs := range req.Header {
				if k != "Authorization" && k != "X-Amz-Date" && k != "X-Amz-Security-Token" {
					again.Header[k] = vs
				}
			}
			sum := sha256.Sum256(body)
			require.NoError(t, v4.NewSigner().SignHTTP(context.Background(), testCreds, again, hex.EncodeToString(sum[:]),
				"execute-api", tc.wantRegion, now))
			assert.Equal(t, again.Header.Get("Authorization"), auth)

			// And a request with a different body would not carry this signature.
			other, _ := http.NewRequest(req.Method, req.URL.String(), strings.NewReader(`{"event":"custom"}`))
			for k, vs := range again.Header {
				if k != "Authorization" {
					other.Header[k] = vs
				}
			}
			sum = sha256.Sum256([]byte(`{"event":"custom"}`))
			require.NoError(t, v4.NewSigner().SignHTTP(context.Background(), testCreds, other, hex.EncodeToString(sum[:]),
				"execute-api", tc.wantRegion, now))
			assert.NotEqual(t, other.Header.Get("Authorization"), auth, "the payload hash is signed")
		})
	}
}

func TestLoopbackIsNotSigned(t *testing.T) {
	for _, ep := range []string{"http://127.0.0.1:3000", "http://localhost:3000", "http://[::1]:3000", "http://api.localhost:8080"} {
		t.Run(ep, func(t *testing.T) {
			tr := &captureTransport{}
			// runCLI fails the test if the AWS config is loaded.
			got := runCLI(t, ep, runOpts{http: &http.Client{Transport: tr}}, "trigger", "--event", "custom")
			require.Equal(t, ExitOK, got.code, got.stderr)
			require.Len(t, tr.reqs, 1)
			assert.Empty(t, tr.reqs[0].Header.Get("Authorization"))
			assert.Empty(t, tr.reqs[0].Header.Get("X-Amz-Date"))
		})
	}
}

func TestSigningNeedsARegion(t *testing.T) {
	tr := &captureTransport{}
	var asked string
	got := runCLI(t, "https://webhooks.example.com", runOpts{http: &http.Client{Transport: tr}, aws: awsConfig("", &asked)}, "list")
	assert.Equal(t, ExitUsage, got.code)
	assert.Equal(t, "error: endpoint webhooks.example.com needs SigV4 signing but no region is known: pass --region or set AWS_REGION (see 'webhooks list --help')\n", got.stderr)
	assert.Empty(t, tr.reqs)
}

func TestSigningWithoutCredentials(t *testing.T) {
	tr := &captureTransport{}
	got := runCLI(t, "https://abc.execute-api.us-east-1.amazonaws.com", runOpts{
		http: &http.Client{Transport: tr},
		aws: func(context.Context, string) (aws.Config, error) {
			return aws.Config{Region: "us-east-1", Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
				return aws.Credentials{}, errors.New("no EC2 IMDS role found")
			})}, nil
		},
	}, "list")
	assert.Equal(t, ExitAPIError, got.code)
	assert.Equal(t, "error: sign request: aws credentials: no EC2 IMDS role found\n", got.stderr)
	assert.Empty(t, tr.reqs)
}

func TestRegionFromHost(t *testing.T) {
	for host, want := range map[string]string{
		"https://abc.execute-api.us-east-2.amazonaws.com":         "us-east-2",
		"https://abc.execute-api.cn-north-1.amazonaws.com.cn":     "cn-north-1",
		"https://vpce-1.abc.execute-api.eu-west-3.amazonaws.com/": "eu-west-3",
		"https://webhooks.example.com":                            "",
		"http://127.0.0.1:3000":                                   "",
	} {
		u, err := url.Parse(host)
		require.NoError(t, err)
		assert.Equal(t, want, regionFromHost(u), host)
	}
}
