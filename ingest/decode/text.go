package decode

import (
	"unicode/utf16"
	"unicode/utf8"
)

// Strings: interned or unescaped text read by the scanner.

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
	if raw = s.unescaped(raw, esc); s.bad {
		return ""
	}
	return in.str(raw)
}

// unescaped returns a string scalar's contents with its escapes decoded when esc; a bad escape fails the
// scan.
func (s *scanner) unescaped(raw []byte, esc bool) []byte {
	if !esc {
		return raw
	}
	u, ok := unescape(raw)
	if !ok {
		s.fail("bad string escape")
	}
	return u
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
	if raw = s.unescaped(raw, esc); s.bad {
		return ""
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
