package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/systemprompt-io/webhooks/internal/jsonx"
	"github.com/systemprompt-io/webhooks/internal/manage"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// Error codes the API adds to webhook's, for requests that reach no handler.
const (
	codeMethodNotAllowed = "method_not_allowed"
	codeRouteNotFound    = "not_found"
)

// StatusOf maps an error to its HTTP status. It is the one place where
// webhook error codes become status codes.
func StatusOf(err error) int {
	switch webhook.ErrorCode(err) {
	case "":
		return http.StatusOK
	case webhook.EInvalid:
		return http.StatusBadRequest
	case webhook.ENotFound:
		return http.StatusNotFound
	case webhook.EConflict:
		return http.StatusConflict
	case webhook.ETooLarge:
		return http.StatusRequestEntityTooLarge
	case webhook.EUnavailable:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// writeError answers with err as error JSON. Internal errors are logged with
// the request id, and the client sees only "internal error".
func (a *server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status := StatusOf(err)
	code := webhook.ErrorCode(err)
	switch status {
	case http.StatusServiceUnavailable:
		// The message says how to repeat the request; the cause is ours.
		a.log.WarnContext(r.Context(), "request failed part-way",
			"request_id", requestID(r.Context()), "method", r.Method, "route", r.Pattern, "err", err)
	case http.StatusInternalServerError:
		code = webhook.EInternal
		a.log.ErrorContext(r.Context(), "request failed",
			"request_id", requestID(r.Context()), "method", r.Method, "route", r.Pattern, "err", err)
	}
	writeJSON(w, status, errorBody{Error: errorDetail{
		Code:    code,
		Message: webhook.ErrorMessage(err),
		Field:   webhook.ErrorField(err),
	}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	if err := jsonx.NewEncoder(&buf).Encode(v); err != nil {
		// Only our own response types are encoded; they always marshal.
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString(`{"error":{"code":"internal_error","message":"internal error"}}` + "\n")
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// readBody returns the request body, checked to be exactly one JSON object
// of strict JSON (jsonx.Check: UTF-8, no lone surrogate escape, no member
// name twice at any depth, data and metadata included: receivers' parsers
// differ on which of two members wins).
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, webhook.MaxBodyBytes))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, webhook.Errorf(webhook.ETooLarge, "request body is larger than %d bytes", webhook.MaxBodyBytes)
	} else if err != nil {
		return nil, webhook.Errorf(webhook.EInvalid, "request body could not be read")
	}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return nil, webhook.Errorf(webhook.EInvalid, "request body is empty; send a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	var obj json.RawMessage
	if err := dec.Decode(&obj); err != nil {
		return nil, jsonError(err)
	}
	if obj[0] != '{' {
		return nil, webhook.Errorf(webhook.EInvalid, "request body must be a JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, webhook.Errorf(webhook.EInvalid, "request body has data after the JSON object")
	}
	if err := jsonx.Check(obj); err != nil {
		return nil, jsonError(err)
	}
	return obj, nil
}

// jsonError turns an encoding/json error into a client error naming the
// field when there is one.
func jsonError(err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var strict *jsonx.Error
	switch {
	case errors.As(err, &strict):
		return strictError(strict)
	case errors.As(err, &syntax):
		return webhook.Errorf(webhook.EInvalid, "request body is not valid JSON (at byte %d)", syntax.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return webhook.Errorf(webhook.EInvalid, "request body is not valid JSON (truncated)")
	case errors.As(err, &typ):
		if typ.Field == "" {
			return webhook.Errorf(webhook.EInvalid, "request body must be a JSON object")
		}
		return webhook.Invalid(typ.Field, "%s must be %s, not a JSON %s", typ.Field, manage.TypeName(typ.Type.Kind().String()), typ.Value)
	}
	if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		f = strings.Trim(f, `"`)
		return webhook.Invalid(f, "unknown field %q", f)
	}
	return webhook.Errorf(webhook.EInvalid, "request body is not valid JSON")
}

// strictError is the client error for JSON that encoding/json alone would
// have read by guessing.
func strictError(e *jsonx.Error) error {
	field := webhook.Clip(e.Path, 200)
	switch {
	case errors.Is(e, jsonx.ErrUnknownName):
		return webhook.Invalid(field, "unknown field %q (names match exactly)", field)
	case errors.Is(e, jsonx.ErrDuplicateName):
		return webhook.Invalid(field, "%s is given more than once; give each member once", field)
	case errors.Is(e, jsonx.ErrLoneSurrogate):
		return webhook.Invalid(field, `request body has an escaped lone surrogate such as "\ud800" (at byte %d); a character beyond U+FFFF is escaped as a pair`, e.Offset)
	}
	return webhook.Invalid(field, "request body is not valid UTF-8 (at byte %d)", e.Offset)
}

// logger is the fallback when Options.Logger is nil.
func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
