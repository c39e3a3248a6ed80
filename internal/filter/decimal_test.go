package filter

import (
	"math/big"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	jsonNumber = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)
	// smallExp: big.Rat computes 10^exp, so the oracle only takes modest ones.
	smallExp = regexp.MustCompile(`^[^eE]*([eE][+-]?0*[0-9]{1,4})?$`)
)

func TestParseDecimalGrammar(t *testing.T) {
	for _, s := range []string{"0", "-0", "1", "-1", "10", "0.5", "1e5", "1E+5", "1e-5", "-0.0e0", "123.456e-7", "1e999999999999999999999"} {
		_, _, ok := parseDecimal([]byte(s), nil)
		assert.True(t, ok, s)
	}
	for _, s := range []string{"", "-", "+1", "01", "1.", ".5", "1e", "1e+", "NaN", "inf", "-inf", "1.2.3", "0x10", " 1", "1 ", "--1"} {
		_, _, ok := parseDecimal([]byte(s), nil)
		assert.False(t, ok, s)
	}
}

func TestCmpDecimal(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"0", "-0", 0},
		{"0", "0.000e10", 0},
		{"1", "1.0", 0},
		{"100", "1e2", 0},
		{"100", "10E1", 0},
		{"0.1", "1e-1", 0},
		{"19.90", "19.9", 0},
		{"12345678901234567891", "12345678901234567890", 1},
		{"9007199254740993", "9007199254740992", 1}, // equal as float64
		{"0.1", "0.10000000000000001", -1},          // equal as float64
		{"-1", "1", -1},
		{"-2", "-1", -1},
		{"-0.5", "0", -1},
		{"0", "1e-400", -1},
		{"1e400", "9e399", 1},
		{"-1e400", "-9e399", -1},
		{"123", "1.23e2", 0},
		{"123", "1.231e2", -1},
		{"99", "100", -1},
	}
	for _, tt := range tests {
		a, _, ok := parseDecimal([]byte(tt.a), nil)
		require.True(t, ok)
		b, _, ok := parseDecimal([]byte(tt.b), nil)
		require.True(t, ok)
		assert.Equal(t, tt.want, cmpDecimal(a, b), "%s vs %s", tt.a, tt.b)
		assert.Equal(t, -tt.want, cmpDecimal(b, a), "%s vs %s", tt.b, tt.a)
	}
}

// FuzzCmpDecimal checks the decimal comparison against math/big's exact
// rationals, for numbers whose exponents big.Rat can hold.
func FuzzCmpDecimal(f *testing.F) {
	for _, s := range [][2]string{
		{"0", "-0"}, {"1", "1.0"}, {"100", "1e2"}, {"-3.5", "-3.49"}, {"0.001", "1e-3"},
		{"12345678901234567891", "12345678901234567890"}, {"1e20", "99999999999999999999"},
		{"-0.000123e5", "-12.3"}, {"5", "50e-1"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		if !jsonNumber.MatchString(a) || !jsonNumber.MatchString(b) || !smallExp.MatchString(a) || !smallExp.MatchString(b) {
			da, _, oka := parseDecimal([]byte(a), nil)
			db, _, okb := parseDecimal([]byte(b), nil)
			if oka != jsonNumber.MatchString(a) || okb != jsonNumber.MatchString(b) {
				t.Fatalf("grammar: %q %v, %q %v", a, oka, b, okb)
			}
			if oka && okb {
				_ = cmpDecimal(da, db) // must not panic
			}
			return
		}
		ra, oka := new(big.Rat).SetString(a)
		rb, okb := new(big.Rat).SetString(b)
		require.True(t, oka && okb, "big.Rat refuses %q or %q", a, b)
		da, _, oka := parseDecimal([]byte(a), nil)
		db, _, okb := parseDecimal([]byte(b), nil)
		require.True(t, oka && okb, "%q %q", a, b)
		if got, want := cmpDecimal(da, db), ra.Cmp(rb); got != want {
			t.Fatalf("cmp(%s, %s) = %d, want %d", a, b, got, want)
		}
	})
}
