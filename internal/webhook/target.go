package webhook

import (
	"errors"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"golang.org/x/net/idna"
)

// blockedPrefixes are the address ranges a webhook may not target unless
// private targets are allowed: anything that is not a public unicast address.
// Cloud metadata endpoints fall inside them (169.254.169.254 and
// fd00:ec2::254 are link-local/ULA, Alibaba's 100.100.100.200 is CGNAT).
var blockedPrefixes = func() []netip.Prefix {
	cidrs := []string{
		// IPv4
		"0.0.0.0/8",       // "this network", includes the unspecified address
		"10.0.0.0/8",      // private
		"100.64.0.0/10",   // carrier-grade NAT
		"127.0.0.0/8",     // loopback
		"169.254.0.0/16",  // link-local, cloud metadata
		"172.16.0.0/12",   // private
		"192.0.0.0/24",    // IETF protocol assignments
		"192.0.2.0/24",    // documentation
		"192.88.99.0/24",  // 6to4 relay anycast
		"192.168.0.0/16",  // private
		"198.18.0.0/15",   // benchmarking
		"198.51.100.0/24", // documentation
		"203.0.113.0/24",  // documentation
		"224.0.0.0/4",     // multicast
		"240.0.0.0/4",     // reserved, includes broadcast
		// IPv6
		"::/128",        // unspecified
		"::1/128",       // loopback
		"::/96",         // IPv4-compatible (deprecated)
		"100::/64",      // discard
		"2001:db8::/32", // documentation
		"fc00::/7",      // unique local, includes fd00:ec2::254 (AWS metadata)
		"fe80::/10",     // link-local
		"fec0::/10",     // site-local (deprecated)
		"ff00::/8",      // multicast
	}
	ps := make([]netip.Prefix, len(cidrs))
	for i, c := range cidrs {
		ps[i] = netip.MustParsePrefix(c)
	}
	return ps
}()

// Prefixes of IPv6 ranges that embed an IPv4 address, which is checked too:
// NAT64 (64:ff9b::/96, the IPv4 in the last 32 bits) and 6to4 (2002::/16,
// the IPv4 in bits 16..47).
var (
	nat64Prefix = netip.MustParsePrefix("64:ff9b::/96")
	sixTo4      = netip.MustParsePrefix("2002::/16")
)

// BlockedAddr reports whether a is an address a webhook may not reach unless
// private targets are allowed: loopback, private, link-local, CGNAT,
// unspecified, multicast, reserved or metadata, in IPv4, IPv6 or an IPv6
// form that embeds IPv4 (mapped, NAT64, 6to4). The dial-time guard uses the
// same test on resolved addresses.
func BlockedAddr(a netip.Addr) bool {
	if !a.IsValid() {
		return true
	}
	a = a.WithZone("").Unmap()
	for _, p := range blockedPrefixes {
		if p.Contains(a) {
			return true
		}
	}
	if a.Is6() {
		b := a.As16()
		if nat64Prefix.Contains(a) {
			return BlockedAddr(netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}))
		}
		if sixTo4.Contains(a) {
			return BlockedAddr(netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}))
		}
	}
	return false
}

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
		if !allowPrivate && BlockedAddr(addr) {
			return Invalid(field, "url targets a private, loopback or reserved address")
		}
		return nil
	}
	name, err := normalizeHost(host)
	if err != nil {
		return Invalid(field, "url has an invalid host name")
	}
	if ip, numeric := legacyIPv4(name); numeric {
		// Resolvers (and browsers) read 127.1, 0x7f.0.0.1 or 2130706433 as
		// IPv4; a number is never a real top-level domain, so refuse the
		// ambiguous forms outright and check the ones that parse.
		if !ip.IsValid() {
			return Invalid(field, "url has an invalid numeric host")
		}
		if !allowPrivate && BlockedAddr(ip) {
			return Invalid(field, "url targets a private, loopback or reserved address")
		}
		return Invalid(field, "url has a non-standard numeric host; write the address as a dotted quad")
	}
	if !allowPrivate && blockedName(name) {
		return Invalid(field, "url targets a local or metadata host name")
	}
	return nil
}

// normalizeHost lowercases a host name, maps an internationalized name to its
// ASCII form and drops a trailing dot.
func normalizeHost(host string) (string, error) {
	name := strings.ToLower(host)
	for i := 0; i < len(name); i++ {
		if name[i] >= 0x80 {
			a, err := idna.Lookup.ToASCII(name)
			if err != nil {
				return "", err
			}
			name = a
			break
		}
	}
	name = strings.TrimSuffix(name, ".")
	if name == "" || strings.Contains(name, "..") || strings.HasPrefix(name, ".") {
		return "", errInvalidHost
	}
	return name, nil
}

var errInvalidHost = errors.New("invalid host name")

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
