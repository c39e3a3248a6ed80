// Package api holds the OpenAPI 3.1 description of the service's HTTP API
// (openapi.yaml, embedded) and serves it as JSON.
package api

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"sync"

	"go.yaml.in/yaml/v3"
)

// openapiYAML is the document as written; a test keeps it valid and a
// conformance test keeps the handler true to it.
//
//go:embed openapi.yaml
var openapiYAML []byte

// OpenAPIYAML returns the document as written. The slice is shared; callers
// must not modify it.
func OpenAPIYAML() []byte { return openapiYAML }

// OpenAPIJSON returns the document as JSON (what GET /openapi.json serves),
// converted once. The slice is shared; callers must not modify it.
func OpenAPIJSON() ([]byte, error) { return openapiJSON() }

var openapiJSON = sync.OnceValues(func() ([]byte, error) { return yamlToJSON(openapiYAML) })

// yamlToJSON converts a YAML document to JSON. Keys of the document are all
// strings; anything else is refused rather than guessed at.
func yamlToJSON(in []byte) ([]byte, error) {
	var doc any
	if err := yaml.Unmarshal(in, &doc); err != nil {
		return nil, fmt.Errorf("openapi: parse yaml: %w", err)
	}
	v, err := jsonValue(doc)
	if err != nil {
		return nil, fmt.Errorf("openapi: %w", err)
	}
	out, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("openapi: encode json: %w", err)
	}
	return out, nil
}

// jsonValue turns what the YAML decoder produced into values encoding/json
// can encode.
func jsonValue(v any) (any, error) {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			c, err := jsonValue(e)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			t[k] = c
		}
		return t, nil
	case map[any]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			ks, ok := k.(string)
			if !ok {
				return nil, fmt.Errorf("key %v is not a string (quote it)", k)
			}
			c, err := jsonValue(e)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", ks, err)
			}
			m[ks] = c
		}
		return m, nil
	case []any:
		for i, e := range t {
			c, err := jsonValue(e)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			t[i] = c
		}
		return t, nil
	}
	return v, nil
}
