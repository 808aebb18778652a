package decode

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/okxtape/okxtape/schema"
)

// ErrBadValue: an element of a push held a value that is not data (a price that is not a finite decimal, a
// book level with a non-positive price or a negative size, no exchange ts). The element is dropped (its
// frame is still stored raw) and the rest of the push is decoded; Push returns a *ValueError wrapping it.
var ErrBadValue = errors.New("okx: bad value")

// Kinds of rejected elements, as counted by ValueError and the client's decode-error counters.
const (
	KindBadNumber = "bad_number" // a price/size/amount that is not a finite decimal ("Inf", "NaN", "0x1p3", "1e999")
	KindBadLevel  = "bad_level"  // a book level with a price <= 0 or NaN, or a size < 0 or NaN
	KindNoTs      = "no_ts"      // an event without an exchange ts (ts absent, 0 or negative)
)

type rejects uint8

const (
	rejNumber rejects = 1 << iota
)

// reject records a value problem of the element being decoded; unlike fail, the scan goes on.
func (s *scanner) reject(r rejects) { s.rej |= r }

// isDecimal reports a plain JSON-style decimal: -?digits[.digits][(e|E)[+-]digits]. It refuses what
// strconv.ParseFloat would also accept: "Inf", "NaN", "Infinity", hex floats, underscores, a leading '+'.
func isDecimal(b []byte) bool {
	i := 0
	if i < len(b) && b[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
			n++
		}
		return n
	}
	intDigits := digits()
	fracDigits := 0
	if i < len(b) && b[i] == '.' {
		i++
		fracDigits = digits()
	}
	if intDigits+fracDigits == 0 {
		return false
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(b)
}

// ValueError reports the elements of one push that were dropped for bad values, per kind; every other
// element of the push was emitted. It wraps ErrBadValue.
type ValueError struct {
	Channel string
	Counts  map[string]int // kind (KindBadNumber, KindBadLevel, KindNoTs) -> elements dropped
	First   string         // what the first dropped element had wrong
}

func (e *ValueError) Error() string {
	kinds := make([]string, 0, len(e.Counts))
	for _, k := range [...]string{KindBadNumber, KindBadLevel, KindNoTs} {
		if n := e.Counts[k]; n > 0 {
			kinds = append(kinds, fmt.Sprintf("%s %d", k, n))
		}
	}
	return fmt.Sprintf("%v: %s: elements dropped (%s); first: %s", ErrBadValue, e.Channel,
		strings.Join(kinds, ", "), e.First)
}

func (e *ValueError) Unwrap() error { return ErrBadValue }

// valueCheck counts what one Push emitted and what it dropped for bad values (see Decoder.put).
type valueCheck struct {
	n   int // events emitted
	err *ValueError
}

func (v *valueCheck) drop(channel, kind, what string) {
	if v.err == nil {
		v.err = &ValueError{Channel: channel, Counts: map[string]int{}, First: what}
	}
	v.err.Counts[kind]++
}

// put hands one decoded event to emit unless it has a bad value (then it is counted in d.vc instead). It
// consumes the scanner's per-element value problems.
func (d *Decoder) put(s *scanner, ev schema.Event, emit func(schema.Event)) {
	kind, what := problem(s.rej, ev)
	s.rej = 0
	if kind == "" {
		emit(ev)
		d.vc.n++
		return
	}
	d.vc.drop(ev.Hdr().Channel, kind, what)
}

// problem returns the kind and a description of what is wrong with ev, or "" when it is good.
func problem(rej rejects, ev schema.Event) (kind, what string) {
	h := ev.Hdr()
	switch {
	case rej&rejNumber != 0:
		return KindBadNumber, "a number that is not a finite decimal"
	case h.Ts <= 0 && ev.Kind() != schema.KindInstrument: // instruments carry no exchange time (Ts is the receive time)
		return KindNoTs, "no exchange ts (" + h.Channel + " " + h.InstID + ")"
	}
	if b, ok := ev.(*schema.Book); ok {
		if msg := badLevels(b); msg != "" {
			return KindBadLevel, msg
		}
	}
	return "", ""
}

// badLevels describes the first level of b with a price that is not > 0 or a size that is negative or NaN.
func badLevels(b *schema.Book) string {
	for side, lv := range [2][]schema.Level{b.Bids, b.Asks} {
		for i := range lv {
			px, sz := lv[i].Px, lv[i].Sz
			if !(px > 0) || math.IsInf(px, 0) || !(sz >= 0) || math.IsInf(sz, 0) {
				return fmt.Sprintf("%s %s level %d: price %v size %v", b.InstID, [2]string{"bid", "ask"}[side], i, px, sz)
			}
		}
	}
	return ""
}

// restValues applies Push's value rules to one event of a REST response, as an error.
func restValues(s *scanner, ev schema.Event) error {
	kind, what := problem(s.rej, ev)
	s.rej = 0
	if kind == "" {
		return nil
	}
	var v valueCheck
	v.drop(ev.Hdr().Channel, kind, what)
	return v.err
}

// each decodes the objects of a data array one by one: elem resets the decoder's reused ev and reads the
// element's fields (after its '{'), and each hands ev to put. It stops at the first structural failure and
// returns how many elements were decoded. elem does not escape, so a decoder's closure costs no allocation.
func (d *Decoder) each(s *scanner, ev schema.Event, emit func(schema.Event), elem func()) int {
	n := 0
	for i := 0; s.nextObject(i); i++ {
		elem()
		if s.bad {
			break
		}
		d.put(s, ev, emit)
		n++
	}
	return n
}

// common reads a field most elements share, instId and ts into h and instType into *instType (nil: the
// event has no instType), and skips any other field.
func (s *scanner) common(k []byte, h *schema.Header, instType *string, in *interner) {
	switch string(k) {
	case "instId":
		h.InstID = s.text(in)
	case "ts":
		h.Ts = s.int(0)
	case "instType":
		if instType != nil {
			*instType = s.text(in)
			return
		}
		s.skip()
	default:
		s.skip()
	}
}
