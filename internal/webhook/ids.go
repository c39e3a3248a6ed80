package webhook

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"time"
)

// DerivedID returns a deterministic, time-ordered id: UUIDv7 layout, its
// 48-bit millisecond timestamp taken from t and its 74 "random" bits from a
// SHA-256 of parts. Equal inputs give equal ids, so a step that is repeated
// (an SQS message delivered twice, a trigger retried with its idempotency
// key) names the same event and deliveries again instead of new ones.
func DerivedID(prefix string, t time.Time, parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		// Length-prefix each part so ("ab","c") and ("a","bc") differ.
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(p)))
		h.Write(n[:])
		h.Write([]byte(p))
	}
	var u [16]byte
	copy(u[6:], h.Sum(nil)[:10])
	ms := uint64(t.UnixMilli())
	u[0], u[1], u[2] = byte(ms>>40), byte(ms>>32), byte(ms>>24)
	u[3], u[4], u[5] = byte(ms>>16), byte(ms>>8), byte(ms)
	u[6] = 0x70 | u[6]&0x0f // version 7
	u[8] = 0x80 | u[8]&0x3f // RFC 4122 variant
	return prefix + hex.EncodeToString(u[:])
}

// DeliveryIDFor returns the id of the delivery of event eventID to webhook
// webhookID, fixed at trigger time by the event's time.
func DeliveryIDFor(eventID, webhookID string, eventTime time.Time) string {
	return DerivedID(DeliveryIDPrefix, eventTime, eventID, webhookID)
}

// IDTime returns the creation time encoded in a UUIDv7-based id, and false
// when id is not one.
func IDTime(prefix, id string) (time.Time, bool) {
	if !ValidID(prefix, id) {
		return time.Time{}, false
	}
	b, err := hex.DecodeString(id[len(prefix) : len(prefix)+12])
	if err != nil {
		return time.Time{}, false
	}
	var ms uint64
	for _, c := range b {
		ms = ms<<8 | uint64(c)
	}
	return time.UnixMilli(int64(ms)).UTC(), true
}
