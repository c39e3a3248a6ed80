package webhook

import "time"

// RecoveryIDPrefix prefixes bulk recovery ids.
const RecoveryIDPrefix = "rcv_"

// RecoveryStatus is where a bulk recovery stands.
type RecoveryStatus string

const (
	RecoveryRunning RecoveryStatus = "running"
	RecoveryDone    RecoveryStatus = "done"
)

// Recovery re-queues every failed delivery of one webhook whose id's time
// (its event's time) is in [Since, Until], page by page in the background.
// Cursor is the last delivery id a finished page read: the next page reads
// after it. The store advances Cursor and the counts together, only from the
// cursor it was given, so a page processed twice is counted once.
type Recovery struct {
	ID        string
	WebhookID string
	Status    RecoveryStatus
	// Since is the window's effective start: the requested since, or the
	// oldest time a delivery can still be kept (retention) if that is later.
	Since          time.Time
	RequestedSince time.Time
	Until          time.Time
	Cursor         string
	Scanned        int64 // deliveries of the window read, every status
	Queued         int64 // failed deliveries re-queued as a new attempt series
	Skipped        int64 // failed deliveries that changed while being re-queued
	CreatedAt      time.Time
	UpdatedAt      time.Time
	CompletedAt    *time.Time
}

// RecoveryPage is what one page of a recovery read and did.
type RecoveryPage struct {
	Cursor  string // the last delivery id read; "" when nothing was read
	Scanned int64
	Queued  int64
	Skipped int64
	Last    bool // nothing more in the window
}
