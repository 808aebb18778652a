package decode

import (
	"fmt"

	"github.com/okxtape/okxtape/schema"
)

// APIError is a REST response whose "code" is not "0" (Code and Msg as sent by OKX).
type APIError struct {
	Code string
	Msg  string
}

func (e *APIError) Error() string { return fmt.Sprintf("okx: REST error code %s: %s", e.Code, e.Msg) }

// restData checks the REST envelope of body and returns a scanner positioned at the start of its "data".
func restData(body []byte, what string) (scanner, error) {
	s := scanner{b: body}
	var code, msg string
	hasCode := false
	ds, de := -1, -1
	if s.open('{') {
		for n := 0; s.more('}', n); n++ {
			switch string(s.key()) {
			case "code":
				code, hasCode = s.text(nil), true
			case "msg":
				msg = s.text(nil)
			case "data":
				ds, de = s.span()
			default:
				s.skip()
			}
		}
	}
	if !s.bad && s.peek() != 0 {
		s.fail("trailing data after the object")
	}
	if s.bad {
		return s, s.err(what)
	}
	if hasCode && code != "0" {
		return s, &APIError{Code: code, Msg: msg}
	}
	if ds < 0 || body[ds] != '[' {
		return s, fmt.Errorf("%w: %s: no \"data\" array", ErrMalformed, what)
	}
	return scanner{b: body[:de], i: ds}, nil
}

// ParseRESTBooks decodes a GET /api/v5/market/books response. The Book is a snapshot (Action snapshot,
// PrevSeqID -1, SeqID as sent or 0) with Header.Channel "books" and InstID "" (the response does not carry
// it; the caller sets it). The BookRaw strings alias body. A non-"0" code returns an *APIError.
func ParseRESTBooks(body []byte) (*schema.Book, *BookRaw, error) {
	s, err := restData(body, "rest books")
	if err != nil {
		return nil, nil, err
	}
	b, raw := new(schema.Book), new(BookRaw)
	if !s.nextObject(0) {
		if s.bad {
			return nil, nil, s.err("rest books")
		}
		return nil, nil, fmt.Errorf("%w: rest books: empty data", ErrMalformed)
	}
	s.book(b, raw, schema.Header{Channel: "books"}, schema.ActionSnapshot, nil)
	if s.bad {
		return nil, nil, s.err("rest books")
	}
	if err := restValues(&s, b); err != nil {
		return nil, nil, err
	}
	b.PrevSeqID = -1
	return b, raw, nil
}

// ParseRESTTrades decodes a GET /api/v5/market/trades (or history-trades) response into trades with Header.
// Channel "trades" (Count 1 when absent).
func ParseRESTTrades(body []byte) ([]schema.Trade, error) {
	s, err := restData(body, "rest trades")
	if err != nil {
		return nil, err
	}
	var out []schema.Trade
	for i := 0; s.nextObject(i); i++ {
		var t schema.Trade
		s.trade(&t, schema.Header{Channel: "trades"}, nil)
		if s.bad {
			break
		}
		if err := restValues(&s, &t); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	if s.bad {
		return nil, s.err("rest trades")
	}
	return out, nil
}

// ParseRESTInstruments decodes a GET /api/v5/public/instruments response. A non-"0" code returns an
// *APIError; an entry with a number that is not a finite decimal refuses the response as a *ValueError.
func ParseRESTInstruments(body []byte) ([]Instrument, error) {
	s, err := restData(body, "rest instruments")
	if err != nil {
		return nil, err
	}
	return instruments(&s, "rest instruments")
}

func instruments(s *scanner, what string) ([]Instrument, error) {
	var out []Instrument
	for i := 0; s.nextObject(i); i++ {
		var in Instrument
		s.instrument(&in, schema.Header{}, nil)
		if s.bad {
			break
		}
		if err := restValues(s, &in); err != nil {
			return nil, err
		}
		out = append(out, in)
	}
	if s.bad {
		return nil, s.err(what)
	}
	return out, nil
}
