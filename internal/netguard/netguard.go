// Package netguard is the address policy for webhook targets: the IP
// addresses a delivery may not reach unless private targets are allowed.
//
// One table serves both places that apply the policy: create-time validation
// of a URL whose host is an IP literal (internal/webhook) and the dial-time
// guard on every address DNS returns (internal/safehttp). With one table the
// two cannot disagree, so a URL accepted at create is never refused at every
// attempt for its literal address, and a host name can never reach an
// address its IP literal could not.
package netguard

import "net/netip"

// Range is one entry of the table.
type Range struct {
	Prefix netip.Prefix
	// Reason names the range in refusals: "loopback", "cloud metadata",
	// "Teredo".
	Reason string
	// Embed is, for an IPv6 range that carries an IPv4 address (IPv4-mapped,
	// NAT64, 6to4), the byte offset of that address in the IPv6 address,
	// and 0 for any other range. An address in such a range is not refused
	// for the range: it is judged by the IPv4 address it carries, which is
	// where the packets go.
	Embed int
}

// table is checked in order and the first matching range decides, so the
// narrow entries (metadata addresses, the embedding ranges) come before the
// wide ones that contain them. IPv4 ranges follow the IANA special-purpose
// registry (RFC 6890 and friends); IPv6 is refused outside global unicast
// (2000::/3) and in the special ranges inside it.
var table = []Range{
	// IPv4.
	r("169.254.169.254/32", "cloud metadata"), // AWS, GCP, Azure, OpenStack
	r("169.254.170.2/32", "cloud metadata"),   // ECS task metadata
	r("100.100.100.200/32", "cloud metadata"), // Alibaba Cloud
	r("0.0.0.0/8", "unspecified"),             // "this network"; 0.0.0.0 reaches localhost on Linux
	r("10.0.0.0/8", "private"),
	r("100.64.0.0/10", "carrier-grade NAT (shared)"),
	r("127.0.0.0/8", "loopback"),
	r("169.254.0.0/16", "link-local"),
	r("172.16.0.0/12", "private"),
	r("192.0.0.0/24", "IETF protocol assignment"), // includes Oracle Cloud's metadata 192.0.0.192
	r("192.0.2.0/24", "documentation"),
	r("192.88.99.0/24", "6to4 relay anycast"),
	r("192.168.0.0/16", "private"),
	r("198.18.0.0/15", "benchmarking"),
	r("198.51.100.0/24", "documentation"),
	r("203.0.113.0/24", "documentation"),
	r("224.0.0.0/4", "multicast"),
	r("255.255.255.255/32", "broadcast"),
	r("240.0.0.0/4", "reserved"),

	// IPv6.
	r("fd00:ec2::254/128", "cloud metadata"), // AWS IMDS over IPv6
	r("::/128", "unspecified"),
	r("::1/128", "loopback"),
	embed("::ffff:0:0/96", "IPv4-mapped", 12),  // ::ffff:a.b.c.d is the IPv4 host a.b.c.d to the kernel
	r("::/96", "IPv4-compatible (deprecated)"), // ::a.b.c.d, never legitimate today
	embed("64:ff9b::/96", "NAT64", 12),         // well-known NAT64: public ones are fine (IPv6-only subnets with DNS64)
	r("64:ff9b:1::/48", "local-use NAT64"),     // RFC 8215: translates into private networks
	r("100::/64", "discard-only"),
	r("2001::/32", "Teredo"), // carries an obfuscated IPv4 of a relay; no legitimate webhook target
	r("2001:2::/48", "benchmarking"),
	r("2001:db8::/32", "documentation"),
	embed("2002::/16", "6to4", 2),
	r("3fff::/20", "documentation"),
	r("fc00::/7", "private (unique local)"),
	r("fe80::/10", "link-local"),
	r("fec0::/10", "site-local (deprecated)"),
	r("ff00::/8", "multicast"),
	// Everything outside global unicast 2000::/3 is reserved or special.
	r("::/3", "reserved"),
	r("4000::/2", "reserved"),
	r("8000::/1", "reserved"),
}

func r(prefix, reason string) Range {
	return Range{Prefix: netip.MustParsePrefix(prefix), Reason: reason}
}

func embed(prefix, reason string, offset int) Range {
	return Range{Prefix: netip.MustParsePrefix(prefix), Reason: reason, Embed: offset}
}

// Ranges returns a copy of the table, in the order Reason applies it.
func Ranges() []Range { return append([]Range(nil), table...) }

// Reason returns why a delivery may not reach a, or "" when a is a public
// unicast address it may reach. An address in an embedding range is named
// by its IPv4 address's reason and the range: "loopback (IPv4-mapped)",
// "private (NAT64)". The zero Addr is "invalid"; a zone is ignored.
func Reason(a netip.Addr) string {
	if !a.IsValid() {
		return "invalid"
	}
	// Prefix.Contains never matches an address with a zone.
	a = a.WithZone("")
	for _, r := range table {
		if !r.Prefix.Contains(a) {
			continue
		}
		if r.Embed == 0 {
			return r.Reason
		}
		b := a.As16()
		if inner := Reason(netip.AddrFrom4([4]byte(b[r.Embed : r.Embed+4]))); inner != "" {
			return inner + " (" + r.Reason + ")"
		}
		return ""
	}
	return ""
}

// Blocked reports whether a is refused (Reason(a) is not empty).
func Blocked(a netip.Addr) bool { return Reason(a) != "" }
