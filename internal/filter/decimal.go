package filter

// Numbers are compared as exact decimals, not as float64: 12345678901234567891
// is not equal to 12345678901234567890, 0.1 equals 0.10 and 1e2, 100 and
// 100.0 are one number. A JSON number is held as its significant digits and a
// decimal exponent, so comparing two is comparing signs, exponents and digit
// strings; nothing is allocated and nothing is rounded.

// maxExp bounds the decimal exponent of a filter's numbers. A document's
// numbers beyond it are clamped to just outside it, which keeps their order
// against every number a filter can hold (documents are only ever compared
// with filters, never with each other).
const maxExp = 1 << 30

// decimal is the value ±0.d₁d₂…dₙ × 10^exp with d₁ ≠ 0 and dₙ ≠ 0. Zero has
// no digits (and is never negative: -0 equals 0).
type decimal struct {
	neg    bool
	digits []byte
	exp    int64
}

// parseDecimal reads a JSON number (RFC 8259 grammar: -?int frac? exp?) into
// a decimal whose digits are appended to buf. ok is false for anything else
// ("NaN", "1.", "+1", "01"). The exponent is clamped to ±(maxExp+1).
func parseDecimal(s []byte, buf []byte) (d decimal, out []byte, ok bool) {
	i := 0
	if i < len(s) && s[i] == '-' {
		d.neg = true
		i++
	}
	// Integer part: 0 or [1-9][0-9]*.
	start := i
	if i < len(s) && s[i] == '0' {
		i++
	} else {
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	}
	if i == start {
		return decimal{}, buf, false
	}
	intPart := s[start:i]
	var frac []byte
	if i < len(s) && s[i] == '.' {
		i++
		fs := i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		if i == fs {
			return decimal{}, buf, false
		}
		frac = s[fs:i]
	}
	var e int64
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		eneg := false
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			eneg = s[i] == '-'
			i++
		}
		es := i
		for i < len(s) && isDigit(s[i]) {
			if e < 1<<40 { // saturate: far past maxExp, far from overflow
				e = e*10 + int64(s[i]-'0')
			}
			i++
		}
		if i == es {
			return decimal{}, buf, false
		}
		if eneg {
			e = -e
		}
	}
	if i != len(s) {
		return decimal{}, buf, false
	}

	// Significant digits: intPart+frac without leading and trailing zeros.
	// The point sits after len(intPart) digits, so after dropping lz leading
	// zeros the value is 0.digits × 10^(len(intPart)-lz+e).
	start = len(buf)
	lz := 0
	leading := true
	for _, part := range [2][]byte{intPart, frac} {
		for _, c := range part {
			if leading && c == '0' {
				lz++
				continue
			}
			leading = false
			buf = append(buf, c)
		}
	}
	digits := buf[start:]
	for len(digits) > 0 && digits[len(digits)-1] == '0' {
		digits = digits[:len(digits)-1]
	}
	if len(digits) == 0 {
		return decimal{}, buf, true // zero, whatever its sign and exponent
	}
	d.digits = digits
	d.exp = min(max(int64(len(intPart))-int64(lz)+e, -(maxExp+1)), maxExp+1)
	return d, buf, true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// cmpDecimal returns -1, 0 or +1 as a is less than, equal to or greater
// than b.
func cmpDecimal(a, b decimal) int {
	az, bz := len(a.digits) == 0, len(b.digits) == 0
	switch {
	case az && bz:
		return 0
	case az:
		if b.neg {
			return 1
		}
		return -1
	case bz:
		if a.neg {
			return -1
		}
		return 1
	case a.neg != b.neg:
		if a.neg {
			return -1
		}
		return 1
	}
	// Same sign, both non-zero: compare magnitudes, then flip for negatives.
	c := cmpMagnitude(a, b)
	if a.neg {
		return -c
	}
	return c
}

func cmpMagnitude(a, b decimal) int {
	if a.exp != b.exp {
		if a.exp < b.exp {
			return -1
		}
		return 1
	}
	// Same exponent: the digit strings compare like the numbers, a shorter
	// one being a prefix padded with zeros (there are no trailing zeros).
	n := min(len(a.digits), len(b.digits))
	for i := range n {
		if a.digits[i] != b.digits[i] {
			if a.digits[i] < b.digits[i] {
				return -1
			}
			return 1
		}
	}
	switch {
	case len(a.digits) < len(b.digits):
		return -1
	case len(a.digits) > len(b.digits):
		return 1
	}
	return 0
}
