// Package cli is the operator CLI of the webhooks service: the seed's
// `prompt webhooks:*` commands over the HTTP API. It signs requests with SigV4
// for a deployed API (IAM auth) and sends them unsigned to a loopback
// endpoint (the local server).
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/config"
	"golang.org/x/term"
)

// DefaultEndpoint is the local server of `make run`.
const DefaultEndpoint = "http://127.0.0.1:3000"

// Exit statuses.
const (
	ExitOK       = 0
	ExitAPIError = 1 // the API said no, could not be reached, or the user aborted
	ExitUsage    = 2 // bad flags or arguments; nothing was sent
)

// Version is set at build time (-ldflags "-X .../internal/cli.Version=v1.2.3");
// otherwise the module version from the build info is shown.
var Version = ""

// Env is everything the CLI touches outside itself, so tests can replace it.
type Env struct {
	Stdin      io.Reader
	Stdout     io.Writer
	Stderr     io.Writer
	IsTerminal func() bool // whether Stdin is an interactive terminal
	Now        func() time.Time
	Getenv     func(string) string
	HTTPClient *http.Client
	// LoadAWSConfig loads credentials and region for signing; region is the
	// --region flag ("" when not given).
	LoadAWSConfig func(ctx context.Context, region string) (aws.Config, error)
	// Listen opens the listener of `webhooks listen` (net.Listen when nil).
	Listen func(network, address string) (net.Listener, error)
}

// OSEnv is the environment of a real process.
func OSEnv() Env {
	return Env{
		Stdin:         os.Stdin,
		Stdout:        os.Stdout,
		Stderr:        os.Stderr,
		IsTerminal:    func() bool { return term.IsTerminal(int(os.Stdin.Fd())) },
		Now:           time.Now,
		Getenv:        os.Getenv,
		HTTPClient:    &http.Client{Timeout: 60 * time.Second},
		LoadAWSConfig: loadAWSConfig,
		Listen:        net.Listen,
	}
}

func loadAWSConfig(ctx context.Context, region string) (aws.Config, error) {
	var opts []func(*config.LoadOptions) error
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	return config.LoadDefaultConfig(ctx, opts...)
}

// Main runs the CLI with args (without the program name) and returns the
// exit status.
func Main(ctx context.Context, args []string, env Env) int {
	a := &app{env: env}
	root := a.rootCommand()
	root.SetArgs(args)
	root.SetIn(env.Stdin)
	root.SetOut(env.Stdout)
	root.SetErr(env.Stderr)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return ExitOK
	}
	var (
		apiErr   *APIError
		reqErr   *requestError
		runErr   *runError
		abortErr *abortError
	)
	switch {
	case errors.As(err, &abortErr):
		fmt.Fprintln(env.Stderr, oneLine(err.Error()))
		return ExitAPIError
	case errors.As(err, &apiErr), errors.As(err, &reqErr), errors.As(err, &runErr):
		fmt.Fprintln(env.Stderr, "error: "+oneLine(err.Error()))
		return ExitAPIError
	default:
		// Everything else is a problem with the command line (from cobra's
		// parsing or the command's own checks): the hint says where the
		// command's flags are described.
		if cmd == nil {
			cmd = root
		}
		fmt.Fprintf(env.Stderr, "error: %s (see '%s --help')\n", oneLine(err.Error()), cmd.CommandPath())
		return ExitUsage
	}
}

// abortError is a deletion the user declined.
type abortError struct{ msg string }

func (e *abortError) Error() string { return e.msg }

// runError is a command that was started as asked but failed while running
// (e.g. the port of `listen` is taken).
type runError struct{ err error }

func (e *runError) Error() string { return e.err.Error() }
func (e *runError) Unwrap() error { return e.err }

// usageError is a problem with the command line found by the CLI itself.
func usageError(format string, args ...any) error { return fmt.Errorf(format, args...) }

// oneLine folds a message onto one line, so each error is one line of stderr.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

type app struct {
	env      Env
	endpoint string
	region   string
	client   *Client
}

// api returns the client for the chosen endpoint, built on first use.
func (a *app) api(ctx context.Context) (*Client, error) {
	if a.client != nil {
		return a.client, nil
	}
	raw := a.endpoint
	if raw == "" {
		raw = a.env.Getenv("WEBHOOKS_ENDPOINT")
	}
	if raw == "" {
		raw = DefaultEndpoint
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, usageError("invalid endpoint %q: want http(s)://host[:port]", raw)
	}
	c := &Client{base: u, http: a.env.HTTPClient, agent: "webhooks-cli/" + version()}
	if c.http == nil {
		c.http = http.DefaultClient
	}
	if !isLoopback(u) {
		region := a.region
		if region == "" {
			region = regionFromHost(u)
		}
		cfg, err := a.env.LoadAWSConfig(ctx, region)
		if err != nil {
			return nil, &requestError{fmt.Errorf("load aws config: %w", err)}
		}
		if region == "" {
			region = cfg.Region
		}
		if region == "" {
			return nil, usageError("endpoint %s needs SigV4 signing but no region is known: pass --region or set AWS_REGION", u.Host)
		}
		if cfg.Credentials == nil {
			return nil, &requestError{errors.New("no aws credentials found for signing requests")}
		}
		c.signer = &requestSigner{creds: cfg.Credentials, region: region, now: a.env.Now, v4: v4.NewSigner()}
	}
	a.client = c
	return c, nil
}

func version() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}

func versionLine() string {
	return fmt.Sprintf("webhooks %s (%s %s/%s)", version(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
