package decode

import (
	"errors"
	"math"
	"strconv"
	"unsafe"
)

// Numbers: OKX sends prices, sizes, ids and times as decimal strings; the scanner parses them in place.

// float reads a decimal string (or bare number). "" and null give NaN.
func (s *scanner) float() float64 {
	_, f := s.number()
	return f
}

// number reads a decimal string (or bare number) and returns its text as received with its value.
// "" and null give NaN.
func (s *scanner) number() ([]byte, float64) {
	raw, esc, _ := s.scalar()
	if s.bad || len(raw) == 0 {
		return raw, math.NaN()
	}
	if esc {
		s.fail("escaped number")
		return nil, math.NaN()
	}
	if f, ok := fastFloat(raw); ok {
		return raw, f
	}
	f, err := strconv.ParseFloat(unsafe.String(&raw[0], len(raw)), 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		s.fail("bad number")
		return nil, math.NaN()
	}
	if !isDecimal(raw) || math.IsInf(f, 0) { // "Inf", "NaN", "0x1p3", "1e999": parsed, but not data
		s.reject(rejNumber)
		return raw, math.NaN()
	}
	return raw, f
}

// pow10 holds the powers of ten that are exact in a float64.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
	1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// fastFloat parses plain decimals ("-123.456", at most 19 digits) whose digits form an integer below 2^53
// with at most 22 fractional digits: both the integer and the power of ten are exact in a float64, so one
// IEEE division gives the correctly rounded result, identical to strconv.ParseFloat. Anything else (exponents,
// long mantissas, junk) reports false and goes to strconv.
func fastFloat(b []byte) (float64, bool) {
	i, neg := 0, false
	if len(b) > 0 && b[0] == '-' {
		neg, i = true, 1
	}
	var mant uint64
	digits, frac, dot := 0, 0, false
	for ; i < len(b); i++ {
		c := b[i]
		switch {
		case c >= '0' && c <= '9':
			if digits == 19 {
				return 0, false
			}
			mant = mant*10 + uint64(c-'0')
			digits++
			if dot {
				frac++
			}
		case c == '.' && !dot:
			dot = true
		default:
			return 0, false
		}
	}
	if digits == 0 || mant >= 1<<53 || frac >= len(pow10) {
		return 0, false
	}
	f := float64(mant) / pow10[frac]
	if neg {
		f = -f
	}
	return f, true
}

// int reads an integer string (or bare integer). "" and null give def.
func (s *scanner) int(def int64) int64 {
	raw, _, _ := s.scalar()
	if s.bad || len(raw) == 0 {
		return def
	}
	v, ok := parseInt(raw)
	if !ok {
		s.fail("bad integer")
		return def
	}
	return v
}

// boolean reads true/false, or the strings "true"/"false"/"1"/"0" (candle confirm). "" and null give false.
func (s *scanner) boolean() bool {
	raw, _, _ := s.scalar()
	switch string(raw) {
	case "true", "1":
		return true
	case "false", "0", "":
		return false
	}
	s.fail("bad boolean")
	return false
}

// parseInt parses an optionally signed decimal integer without allocating.
func parseInt(b []byte) (int64, bool) {
	neg := false
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg = b[0] == '-'
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var u uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		u = u*10 + uint64(c-'0')
	}
	if neg {
		if u > 1<<63 {
			return 0, false
		}
		return -int64(u), true
	}
	if u > math.MaxInt64 {
		return 0, false
	}
	return int64(u), true
}
