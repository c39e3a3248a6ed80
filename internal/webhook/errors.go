package webhook

import (
	"errors"
	"fmt"
	"strings"
)

// Error codes. Every error a caller can see carries one of these; the API maps
// them to HTTP status codes in one place (internal/httpapi).
const (
	EInvalid  = "validation_failed" // the request is malformed or breaks a rule
	ENotFound = "not_found"         // the resource does not exist (or was deleted)
	EConflict = "conflict"          // the request loses a race or breaks uniqueness
	ETooLarge = "payload_too_large" // the request body is over the limit
	// EUnavailable: a dependency failed part-way; the message says how to
	// repeat the request safely.
	EUnavailable = "service_unavailable"
	EInternal    = "internal_error" // anything else; its detail is logged, not shown
)

// Error is the one coded error type of the service. Message is safe to show to
// a client; Field names the offending input field, when there is one.
type Error struct {
	Code    string
	Message string
	Field   string
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s (field %s)", e.Code, e.Message, e.Field)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code and formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns a validation error for one input field.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Code: EInvalid, Message: fmt.Sprintf(format, args...), Field: field}
}

// ErrorCode returns the code of the first *Error in err's chain, EInternal for
// any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// ErrorMessage returns the client-safe message of err: the message of its
// *Error, or a generic text for internal errors.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) && e.Code != EInternal && e.Message != "" {
		return e.Message
	}
	return "internal error"
}

// ErrorField returns the input field an error is about, if any.
func ErrorField(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Field
	}
	return ""
}

// Clip shortens s, a client's input quoted in an error message, to at most n
// bytes and whole characters, marking the cut with "...".
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "..."
}
