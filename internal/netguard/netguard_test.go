package netguard

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBlocked(t *testing.T) {
	tests := []struct {
		addr    string
		blocked bool
	}{
		{"127.0.0.1", true}, {"127.255.255.254", true}, {"0.0.0.0", true}, {"0.1.2.3", true},
		{"10.0.0.0", true}, {"10.255.255.255", true}, {"11.0.0.0", false},
		{"172.15.255.255", false}, {"172.16.0.0", true}, {"172.31.255.255", true}, {"172.32.0.0", false},
		{"192.168.0.1", true}, {"192.169.0.1", false},
		{"169.254.169.254", true}, {"100.64.0.0", true}, {"100.127.255.255", true}, {"100.128.0.0", false},
		{"224.0.0.1", true}, {"239.255.255.255", true}, {"240.0.0.1", true}, {"255.255.255.255", true},
		{"198.18.0.1", true}, {"192.0.2.1", true}, {"8.8.8.8", false}, {"1.1.1.1", false},
		{"::", true}, {"::1", true}, {"fe80::1", true}, {"febf::1", true}, {"fec0::1", true},
		{"fc00::1", true}, {"fdff::1", true}, {"ff02::1", true}, {"2001:db8::1", true},
		{"::ffff:127.0.0.1", true}, {"::ffff:10.0.0.1", true}, {"::ffff:8.8.8.8", false},
		{"64:ff9b::7f00:1", true}, {"64:ff9b::808:808", false},
		{"2002:c0a8:0101::1", true}, {"2002:0808:0808::1", false},
		{"2606:4700:4700::1111", false}, {"2001:4860:4860::8888", false},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			a := netip.MustParseAddr(tt.addr)
			assert.Equal(t, tt.blocked, Blocked(a))
		})
	}
	assert.True(t, Blocked(netip.Addr{}), "the zero Addr is refused")
}

func TestReason(t *testing.T) {
	tests := []struct {
		addr, reason string
	}{
		{"100.100.100.200", "cloud metadata"},
		{"100.100.100.201", "carrier-grade NAT (shared)"},
		{"192.0.0.192", "IETF protocol assignment"},
		{"2001::1", "Teredo"},
		{"2001:0:ffff::1", "Teredo"},
		{"2001:1::1", ""}, // just above Teredo
		{"2001:2::1", "benchmarking"},
		{"2001:3::1", ""},
		{"64:ff9b:1::1", "local-use NAT64"},
		{"64:ff9b:1:ffff::1", "local-use NAT64"},
		{"3fff::1", "documentation"},
		{"3fff:fff::1", "documentation"},
		{"3fff:1000::1", ""}, // just above 3fff::/20
		{"1fff:ffff::1", "reserved"},
		{"4000::1", "reserved"},
		{"8000::1", "reserved"},
		{"::ffff:169.254.169.254", "cloud metadata (IPv4-mapped)"},
		{"64:ff9b::a9fe:a9fe", "cloud metadata (NAT64)"},
		{"2002:a9fe:a9fe::1", "cloud metadata (6to4)"},
		{"2002:6464:64c8::", "cloud metadata (6to4)"}, // 100.100.100.200
		{"::ffff:100.64.0.1", "carrier-grade NAT (shared) (IPv4-mapped)"},
		{"::169.254.169.254", "IPv4-compatible (deprecated)"},
		{"fe80::1%eth0", "link-local"},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			assert.Equal(t, tt.reason, Reason(netip.MustParseAddr(tt.addr)))
		})
	}
	assert.Equal(t, "invalid", Reason(netip.Addr{}))
}

// Every entry decides for some address: none is hidden behind the earlier
// entries, which would make its reason (or its embedding) dead.
func TestTableHasNoShadowedEntries(t *testing.T) {
	for i, r := range table {
		for _, earlier := range table[:i] {
			shadowed := earlier.Prefix.Bits() <= r.Prefix.Bits() && earlier.Prefix.Contains(r.Prefix.Addr())
			assert.False(t, shadowed, "%s (%s) is inside the earlier %s (%s)", r.Prefix, r.Reason, earlier.Prefix, earlier.Reason)
		}
		assert.Equal(t, r.Prefix.Masked(), r.Prefix, "%s is written in canonical form", r.Prefix)
		assert.NotEmpty(t, r.Reason)
		if r.Embed != 0 {
			require.True(t, r.Prefix.Addr().Is6(), "%s embeds IPv4, so it is IPv6", r.Prefix)
			assert.GreaterOrEqual(t, r.Embed*8, r.Prefix.Bits(), "%s: the embedded IPv4 starts after the prefix", r.Prefix)
			assert.LessOrEqual(t, r.Embed+4, 16)
		}
	}
}

// The IPv6 entries leave exactly global unicast (2000::/3) unrefused at the
// top level: a random address outside it is refused whatever it is.
func TestOutsideGlobalUnicastIsRefused(t *testing.T) {
	for _, a := range []string{"::2", "::1:0:0:1", "1::1", "1fff::", "4000::", "7fff::1", "8000::", "c000::1", "e000::1", "fbff::1", "fe00::1", "ffff::1"} {
		assert.True(t, Blocked(netip.MustParseAddr(a)), a)
	}
}

func TestRangesIsACopy(t *testing.T) {
	rs := Ranges()
	require.Len(t, rs, len(table))
	rs[0].Reason = "changed"
	assert.NotEqual(t, "changed", table[0].Reason)
}
