package main

import (
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCLIRotateSecret drives the built binary's rotate-secret against a real
// local server: the new secret is printed once, the overlap shown by info
// until it ends, and refusals exit 1 (the API's) or 2 (the command line's).
func TestCLIRotateSecret(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the CLI")
	}
	c := runner{t: t, bin: buildCLI(t), url: localServer(t)}
	id := createdID(t, c.ok("create", "--name", "Rotating", "--url", "https://example.com/r", "--events", "custom",
		"--auth-type", "hmac", "--auth-credentials", `{"secret":"first-secret-value"}`))

	out := c.ok("rotate-secret", id, "--previous-valid-for", "2h")
	m := regexp.MustCompile(`(?m)^New secret: (whsec_\S+)$`).FindStringSubmatch(out)
	require.NotNil(t, m, out)
	assert.Regexp(t, `(?m)^Rotated the secret of webhook `+id+` \(Rotating\): version 2$`, out)
	assert.Regexp(t, `(?m)^The old secret keeps signing until in 1h \(\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\)$`, out)
	info := c.ok("info", id)
	assert.NotContains(t, info, m[1], "reads show the new secret masked")
	assert.Regexp(t, `^the previous secret signs too until in `, row(t, info, "Rotation"))

	out = c.ok("rotate-secret", id, "--secret", "third-secret-value", "--previous-valid-for", "0", "--if-match", "2")
	assert.Regexp(t, `(?m)^New secret: third-secret-value$`, out)
	assert.Regexp(t, `(?m)^The old secret no longer signs$`, out)
	assert.NotContains(t, c.ok("info", id), "Rotation")

	plain := createdID(t, c.ok("create", "--name", "Plain", "--url", "https://example.com/p", "--events", "custom"))
	c.fails(1, `error: validation_failed: webhook `+plain+` has auth_type none; only an hmac webhook has a secret to rotate \(field auth_type\)`,
		"rotate-secret", plain)
	c.fails(1, `error: validation_failed: previous_valid_for_ms must be .* \(field previous_valid_for_ms\)`,
		"rotate-secret", id, "--previous-valid-for", "169h")
	c.fails(1, `error: conflict: .*`, "rotate-secret", id, "--if-match", "1")
	c.fails(2, `error: --previous-valid-for must be 0 or more.* \(see 'webhooks rotate-secret --help'\)`,
		"rotate-secret", id, "--previous-valid-for", "-1s")
}
