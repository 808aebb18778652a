package decode

import (
	"fmt"
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
