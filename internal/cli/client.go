package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// maxResponseBytes bounds what the CLI reads of a response; the API's pages
// are far smaller.
const maxResponseBytes = 16 << 20

// Client calls the webhooks HTTP API.
type Client struct {
	base   *url.URL
	http   *http.Client
	signer *requestSigner // nil: requests go unsigned (a loopback endpoint)
	agent  string
}

// requestSigner signs requests with SigV4 for API Gateway's IAM auth.
type requestSigner struct {
	creds  aws.CredentialsProvider
	region string
	now    func() time.Time
	v4     *v4.Signer
}

// signingService is the SigV4 service name of API Gateway's invoke endpoint.
const signingService = "execute-api"

func (s *requestSigner) sign(ctx context.Context, req *http.Request, body []byte) error {
	creds, err := s.creds.Retrieve(ctx)
	if err != nil {
		return fmt.Errorf("aws credentials: %w", err)
	}
	sum := sha256.Sum256(body)
	return s.v4.SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), signingService, s.region, s.now().UTC())
}

// response is a 2xx answer of the API.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// APIError is a non-2xx answer of the API.
type APIError struct {
	Status  int
	Code    string
	Message string
	Field   string
}

func (e *APIError) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("http %d: %s", e.Status, e.Message)
	}
	if e.Field != "" {
		return fmt.Sprintf("%s: %s (field %s)", e.Code, e.Message, e.Field)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// requestError is a request that got no answer (connection refused, timeout,
// signing failed).
type requestError struct{ err error }

func (e *requestError) Error() string { return e.err.Error() }
func (e *requestError) Unwrap() error { return e.err }

// do sends one request. body, when not nil, is sent as JSON; a
// json.RawMessage is sent as is.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, body any, header http.Header) (*response, error) {
	u := c.base.JoinPath(path)
	if len(query) > 0 {
		u.RawQuery = query.Encode()
	}
	var payload []byte
	if body != nil {
		var err error
		if raw, ok := body.(json.RawMessage); ok {
			payload = raw
		} else if payload, err = json.Marshal(body); err != nil {
			return nil, &requestError{fmt.Errorf("encode request: %w", err)}
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(payload))
	if err != nil {
		return nil, &requestError{fmt.Errorf("build request: %w", err)}
	}
	if body == nil {
		req.Body, req.ContentLength = http.NoBody, 0
	} else {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.agent)
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if c.signer != nil {
		if err := c.signer.sign(ctx, req, payload); err != nil {
			return nil, &requestError{fmt.Errorf("sign request: %w", err)}
		}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, &requestError{fmt.Errorf("%s %s: %w", method, u.Redacted(), unwrapURLError(err))}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return nil, &requestError{fmt.Errorf("%s %s: read response: %w", method, u.Redacted(), err)}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, decodeAPIError(resp.StatusCode, data)
	}
	return &response{Status: resp.StatusCode, Header: resp.Header, Body: data}, nil
}

// unwrapURLError drops the *url.Error layer, which repeats method and URL.
func unwrapURLError(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}

func decodeAPIError(status int, data []byte) *APIError {
	e := &APIError{Status: status}
	var b errorBody
	if json.Unmarshal(data, &b) == nil {
		e.Code, e.Message, e.Field = b.Error.Code, b.Error.Message, b.Error.Field
		if e.Code == "" && e.Message == "" {
			e.Message = b.Message
		}
	}
	if e.Message == "" {
		e.Message = strings.TrimSpace(string(data))
		if len(e.Message) > 200 {
			e.Message = e.Message[:200] + "..."
		}
	}
	if e.Message == "" {
		e.Message = http.StatusText(status)
	}
	return e
}

// isLoopback reports whether the endpoint's host is this machine: the local
// server, which has no IAM auth.
func isLoopback(u *url.URL) bool {
	host := u.Hostname()
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// regionFromHost returns the region of an API Gateway default endpoint
// (https://{apiId}.execute-api.{region}.amazonaws.com), or "".
func regionFromHost(u *url.URL) string {
	parts := strings.Split(strings.ToLower(u.Hostname()), ".")
	for i := 0; i+2 < len(parts); i++ {
		if parts[i] == "execute-api" && parts[i+2] == "amazonaws" {
			return parts[i+1]
		}
	}
	return ""
}
