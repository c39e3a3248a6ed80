package webhook

import (
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"

	"github.com/systemprompt-io/webhooks/internal/netguard"
)

// blockedNames are host names that point at the machine itself, the local
// network or a cloud metadata service, whatever DNS says.
var blockedNames = map[string]bool{
	"localhost":                true,
	"localhost.localdomain":    true,
	"metadata":                 true,
	"metadata.google.internal": true,
	"instance-data":            true, // AWS EC2 metadata name
	"ip6-localhost":            true,
	"ip6-loopback":             true,
}

// blockedSuffixes are special-use domains (RFC 6761, 6762, 8375 and ICANN's
// .internal) that never name a public host.
var blockedSuffixes = []string{".localhost", ".local", ".localdomain", ".internal", ".home.arpa"}

// checkURL validates a webhook's target URL; field is the input field to
// blame. It does not resolve names: the dial-time guard checks what they
// resolve to.
func checkURL(field, raw string, allowPrivate bool) error {
	if raw == "" {
		return Invalid(field, "url is required")
	}
	if len(raw) > MaxURLLen {
		return Invalid(field, "url is longer than %d characters", MaxURLLen)
	}
	if !utf8.ValidString(raw) {
		return Invalid(field, "url is not valid UTF-8")
	}
	if strings.TrimSpace(raw) != raw {
		return Invalid(field, "url must not start or end with white space")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return Invalid(field, "url is not a valid URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return Invalid(field, "url must be an absolute http or https URL")
	}
	if u.Opaque != "" {
		return Invalid(field, "url must be an absolute http or https URL")
	}
	if u.User != nil {
		return Invalid(field, "url must not contain credentials; use auth_type and auth_credentials")
	}
	host := u.Hostname()
	if host == "" {
		return Invalid(field, "url has no host")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return Invalid(field, "url has an invalid port")
		}
	} else if strings.HasSuffix(u.Host, ":") {
		return Invalid(field, "url has an empty port")
	}
	if addr, err := netip.ParseAddr(host); err == nil {
		// The dial guard applies the same table to whatever a name resolves
		// to, so a literal accepted here is never refused there.
		if reason := netguard.Reason(addr); !allowPrivate && reason != "" {
			return Invalid(field, "url targets address %s, which is %s", addr, reason)
		}
		return nil
	}
	name, err := normalizeHost(field, host)
	if err != nil {
		return err
	}
	if ip, numeric := legacyIPv4(name); numeric {
		// Resolvers (and browsers) read 127.1, 0x7f.0.0.1 or 2130706433 as
		// IPv4; a number is never a real top-level domain, so refuse the
		// ambiguous forms outright and check the ones that parse.
		if !ip.IsValid() {
			return Invalid(field, "url has an invalid numeric host")
		}
		if reason := netguard.Reason(ip); !allowPrivate && reason != "" {
			return Invalid(field, "url targets address %s, which is %s", ip, reason)
		}
		return Invalid(field, "url has a non-standard numeric host; write the address as a dotted quad")
	}
	if !allowPrivate && blockedName(name) {
		return Invalid(field, "url targets a local or metadata host name")
	}
	return nil
}

// DNS limits (RFC 1035 §2.3.4): a label is at most 63 octets and a name at
// most 253 in text form (255 on the wire), counted on the ASCII (punycode)
// form a resolver is asked for.
const (
	maxLabelLen = 63
	maxHostLen  = 253
)

// normalizeHost lowercases a host name, maps an internationalized name to its
// ASCII form and drops a trailing dot. A name a resolver could not look up
// (an empty or over-long label, an over-long name) is refused as an *Error
// for field.
func normalizeHost(field, host string) (string, error) {
	name := strings.ToLower(host)
	for i := 0; i < len(name); i++ {
		if name[i] >= 0x80 {
			a, err := idna.Lookup.ToASCII(name)
			if err != nil {
				return "", Invalid(field, "url has an invalid host name")
			}
			name = a
			break
		}
	}
	name = strings.TrimSuffix(name, ".")
	if len(name) > maxHostLen {
		return "", Invalid(field, "url host name is longer than %d characters", maxHostLen)
	}
	for label := range strings.SplitSeq(name, ".") {
		switch {
		case label == "":
			return "", Invalid(field, "url has an invalid host name")
		case len(label) > maxLabelLen:
			return "", Invalid(field, "url host name has a label longer than %d characters", maxLabelLen)
		}
	}
	return name, nil
}

func blockedName(name string) bool {
	if blockedNames[name] {
		return true
	}
	for _, s := range blockedSuffixes {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	return false
}

// legacyIPv4 reports whether name's last label is numeric, which makes the
// whole name an IPv4 address in the inet_aton sense (1 to 4 parts, decimal,
// octal or hex); ip is the address when it parses and is invalid otherwise.
func legacyIPv4(name string) (ip netip.Addr, numeric bool) {
	parts := strings.Split(name, ".")
	if !numericPart(parts[len(parts)-1]) {
		return netip.Addr{}, false
	}
	if len(parts) > 4 {
		return netip.Addr{}, true
	}
	nums := make([]uint64, len(parts))
	for i, p := range parts {
		n, ok := parseInetPart(p)
		if !ok {
			return netip.Addr{}, true
		}
		nums[i] = n
	}
	// The last part fills the remaining bytes; the others are one byte each.
	last := nums[len(nums)-1]
	if last >= 1<<(8*(5-len(nums))) {
		return netip.Addr{}, true
	}
	var v uint64
	for _, n := range nums[:len(nums)-1] {
		if n > 255 {
			return netip.Addr{}, true
		}
		v = v<<8 | n
	}
	v = v<<(8*(5-len(nums))) | last
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), true
}

func numericPart(p string) bool {
	if p == "" {
		return false
	}
	if len(p) > 2 && (p[:2] == "0x") {
		p = p[2:]
		for i := 0; i < len(p); i++ {
			c := p[i]
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
				return false
			}
		}
		return true
	}
	if p == "0x" {
		return true
	}
	for i := 0; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return false
		}
	}
	return true
}

func parseInetPart(p string) (uint64, bool) {
	base := 10
	switch {
	case strings.HasPrefix(p, "0x"):
		base, p = 16, p[2:]
		if p == "" {
			return 0, true
		}
	case len(p) > 1 && p[0] == '0':
		base, p = 8, p[1:]
	}
	n, err := strconv.ParseUint(p, base, 32)
	return n, err == nil
}
