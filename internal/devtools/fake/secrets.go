package fake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
)

// Secrets seals credentials by JSON-encoding them behind a prefix bound to
// the webhook id, so a test can open what was stored, and opening them under
// another webhook's id fails as KMS's encryption context makes it fail.
type Secrets struct {
	mu    sync.Mutex
	seals int
	opens int
}

// Seal "encrypts" creds for the webhook id.
func (f *Secrets) Seal(_ context.Context, id string, creds map[string]string) ([]byte, error) {
	f.mu.Lock()
	f.seals++
	f.mu.Unlock()
	return Sealed(id, creds), nil
}

// Open returns the credentials Seal sealed for id.
func (f *Secrets) Open(_ context.Context, id string, sealed []byte) (map[string]string, error) {
	f.mu.Lock()
	f.opens++
	f.mu.Unlock()
	rest, ok := strings.CutPrefix(string(sealed), "sealed:"+id+":")
	if !ok {
		return nil, errors.New("fake: credentials sealed for another webhook")
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(rest), &m); err != nil {
		return nil, fmt.Errorf("fake: open credentials: %w", err)
	}
	return m, nil
}

// Seals returns how many times Seal was called.
func (f *Secrets) Seals() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.seals
}

// Opens returns how many times Open was called.
func (f *Secrets) Opens() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.opens
}

// Sealed is what Secrets.Seal returns for creds of webhook id: for a
// fixture's stored webhook.
func Sealed(id string, creds map[string]string) []byte {
	b, _ := json.Marshal(creds) // a map of strings always marshals
	return append([]byte("sealed:"+id+":"), b...)
}

// Mask is a stand-in for secrets.Mask that shows more, so tests can tell
// the values apart: header_name as it is, the rest as their first two
// characters and "****".
func Mask(creds map[string]string) map[string]string {
	out := make(map[string]string, len(creds))
	for k, v := range creds {
		if k == "header_name" {
			out[k] = v
			continue
		}
		r := []rune(v) // whole characters, as secrets.Mask keeps them
		out[k] = string(r[:min(2, len(r))]) + "****"
	}
	return out
}

// GenerateSecret is a stand-in for secrets.GenerateHMACSecret whose secrets
// follow from r alone (with a Counter, they differ and repeat across runs).
func GenerateSecret(r io.Reader) (string, error) {
	b := make([]byte, 8)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", err
	}
	return fmt.Sprintf("whsec_%x", b), nil
}

// Counter is a random source that yields 0, 1, 2, ...
type Counter struct {
	mu sync.Mutex
	n  byte
}

func (c *Counter) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range p {
		p[i] = c.n
		c.n++
	}
	return len(p), nil
}
