package decode

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// scanner is a pull-style JSON tokenizer over one frame. It never allocates on success and never panics:
// every index is bounds-checked, and the first failure is remembered (bad/what/at) while the read position
// jumps to the end so that every later call is a cheap no-op.
//
// Object iteration:
//
//	if s.open('{') { for n := 0; s.more('}', n); n++ { k := s.key(); ...read or skip the value... } }
//
// Array iteration is the same with '[' / ']' and no key.
type scanner struct {
	b    []byte
	i    int
	k    []byte // last key read (for error context)
	bad  bool
	what string
	key0 string // key at the time of the failure
	at   int
	rej  rejects // value problems of the element being decoded (see values.go); the scan goes on
}

// fail records the first failure and stops the scan.
func (s *scanner) fail(what string) {
	if !s.bad {
		s.bad = true
		s.what = what
		s.at = s.i
		if s.k != nil {
			s.key0 = string(s.k)
		}
	}
	s.i = len(s.b)
}

// err returns the recorded failure as an ErrMalformed-wrapped error, or nil.
func (s *scanner) err(ctx string) error {
	if !s.bad {
		return nil
	}
	if s.key0 != "" {
		return fmt.Errorf("%w: %s: %s (field %q, byte %d)", ErrMalformed, ctx, s.what, s.key0, s.at)
	}
	return fmt.Errorf("%w: %s: %s (byte %d)", ErrMalformed, ctx, s.what, s.at)
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// peek skips whitespace and returns the next byte, or 0 at the end.
func (s *scanner) peek() byte {
	s.ws()
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// open consumes the opening bracket c ('{' or '['); on anything else it fails.
func (s *scanner) open(c byte) bool {
	if s.peek() == c {
		s.i++
		return true
	}
	if c == '{' {
		s.fail("expected object")
	} else {
		s.fail("expected array")
	}
	return false
}

// more reports whether the container closed by c has another member; n is the number already read.
// It consumes the separating comma or the closing bracket.
func (s *scanner) more(c byte, n int) bool {
	if s.bad {
		return false
	}
	switch s.peek() {
	case c:
		s.i++
		return false
	case ',':
		if n > 0 {
			s.i++
			return true
		}
	default:
		if n == 0 {
			return true
		}
	}
	s.fail("expected ',' or closing bracket")
	return false
}

// key reads an object key and the following colon. Keys are compared raw (escapes are not decoded).
func (s *scanner) key() []byte {
	k, _, ok := s.quoted()
	if !ok {
		return nil
	}
	if s.peek() != ':' {
		s.fail("expected ':'")
		return nil
	}
	s.i++
	s.k = k
	return k
}

// quoted reads a JSON string and returns its raw contents (escapes not decoded) and whether it has escapes.
func (s *scanner) quoted() (raw []byte, esc, ok bool) {
	if s.peek() != '"' {
		s.fail("expected string")
		return nil, false, false
	}
	start := s.i + 1
	for j := start; j < len(s.b); j++ {
		switch s.b[j] {
		case '"':
			s.i = j + 1
			return s.b[start:j], esc, true
		case '\\':
			esc = true
			j++
		}
	}
	s.fail("unterminated string")
	return nil, false, false
}

// isTokenByte reports bytes that can appear in a bare JSON number or literal.
func isTokenByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-' || c == '+' || c == '.'
}

// scalar reads a string, number or literal and returns its text: a string's raw contents, or the bare
// token. null yields (nil, false, true) with isNull set. Objects and arrays fail.
func (s *scanner) scalar() (raw []byte, esc, isNull bool) {
	switch c := s.peek(); {
	case c == '"':
		raw, esc, _ = s.quoted()
		return raw, esc, false
	case isTokenByte(c):
		j := s.i
		for j < len(s.b) && isTokenByte(s.b[j]) {
			j++
		}
		raw = s.b[s.i:j]
		s.i = j
		if string(raw) == "null" {
			return nil, false, true
		}
		return raw, false, false
	default:
		s.fail("expected a scalar value")
		return nil, false, false
	}
}

// skip skips one value of any type without validating the inside of containers.
func (s *scanner) skip() {
	switch c := s.peek(); c {
	case '"':
		s.quoted()
	case '{', '[':
		depth := 0
		for j := s.i; j < len(s.b); j++ {
			switch s.b[j] {
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					s.i = j + 1
					return
				}
			case '"':
				for j++; j < len(s.b) && s.b[j] != '"'; j++ {
					if s.b[j] == '\\' {
						j++
					}
				}
			}
		}
		s.fail("unterminated object or array")
	default:
		j := s.i
		for j < len(s.b) && isTokenByte(s.b[j]) {
			j++
		}
		if j == s.i {
			s.fail("expected a value")
			return
		}
		s.i = j
	}
}

// span skips one value and returns its byte range [start, end).
func (s *scanner) span() (start, end int) {
	s.ws()
	start = s.i
	s.skip()
	return start, s.i
}

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

// interner maps byte strings to shared Go strings (a lookup with a string(b) key does not allocate). A nil
// *interner allocates a fresh string each time.
// The table is bounded so hostile input cannot grow it without limit.
type interner struct {
	m map[string]string
}

const maxInterned = 1 << 16

func (in *interner) str(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if in == nil {
		return string(b)
	}
	if s, ok := in.m[string(b)]; ok {
		return s
	}
	s := string(b)
	if in.m == nil {
		in.m = make(map[string]string, 256)
	}
	if len(in.m) < maxInterned {
		in.m[s] = s
	}
	return s
}

// text reads a scalar as a string: strings are unescaped, numbers and literals give their text, null "".
// Through a non-nil interner the result is shared (no allocation for known values).
func (s *scanner) text(in *interner) string {
	raw, esc, _ := s.scalar()
	if s.bad || len(raw) == 0 {
		return ""
	}
	if esc {
		u, ok := unescape(raw)
		if !ok {
			s.fail("bad string escape")
			return ""
		}
		return in.str(u)
	}
	return in.str(raw)
}

// side reads a trade/order side, mapping the two OKX values to the schema constants.
func (s *scanner) side(in *interner) string {
	raw, esc, _ := s.scalar()
	if !esc {
		switch string(raw) {
		case "buy":
			return "buy"
		case "sell":
			return "sell"
		case "":
			return ""
		}
	}
	if s.bad {
		return ""
	}
	if esc {
		u, ok := unescape(raw)
		if !ok {
			s.fail("bad string escape")
			return ""
		}
		raw = u
	}
	return in.str(raw)
}

// unescape decodes the escapes of a JSON string's raw contents.
func unescape(raw []byte) ([]byte, bool) {
	buf := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '\\' {
			buf = append(buf, c)
			continue
		}
		i++
		if i >= len(raw) {
			return nil, false
		}
		switch raw[i] {
		case '"', '\\', '/':
			buf = append(buf, raw[i])
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			if i+4 >= len(raw) {
				return nil, false
			}
			r, ok := hex4(raw[i+1 : i+5])
			if !ok {
				return nil, false
			}
			i += 4
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if i+6 < len(raw) && raw[i+1] == '\\' && raw[i+2] == 'u' {
					r2, ok = hex4(raw[i+3 : i+7])
					if !ok {
						r2 = -1
					}
				}
				if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
					r = d
					i += 6
				} else {
					r = utf8.RuneError
				}
			}
			buf = utf8.AppendRune(buf, r)
		default:
			return nil, false
		}
	}
	return buf, true
}

func hex4(b []byte) (rune, bool) {
	var r rune
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}
