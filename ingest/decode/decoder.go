package decode

import (
	"fmt"
	"strings"

	"github.com/okxtape/okxtape/schema"
)

// Decoder is the second decoding stage: it turns the "data" of a push into schema events.
//
// Concurrency: a Decoder is not safe for concurrent use; use one per connection reader goroutine.
//
// Ownership: the events handed to emit are structs owned by the Decoder and reused for the next element
// and the next frame; they (and their Bids/Asks slices, and BookRaw) are valid only during the emit call.
// A consumer that keeps an event copies it (schema.Clone). Strings in events are either interned in the
// Decoder's table (channel, instId, instType, side, ...) or freshly allocated (private order/trade ids),
// never aliases of the frame, so they may be kept.
type Decoder struct {
	in    interner
	stats Stats

	ticker  schema.Ticker
	trade   schema.Trade
	candle  schema.Candle
	funding schema.FundingRate
	mark    schema.MarkPrice
	index   schema.IndexTicker
	oi      schema.OpenInterest
	book    schema.Book
	raw     BookRaw
	order   schema.Order
	fill    schema.Fill
	bal     schema.Balance
	pos     schema.Position
	vc      valueCheck // the Push in progress
}

// Stats counts the frames a Decoder rejected, by kind. The client turns them into metrics and logs; the
// decoder itself never logs.
type Stats struct {
	Malformed      uint64 // Envelope or Push returned ErrMalformed
	UnknownChannel uint64 // Push returned ErrUnknownChannel
	BadValue       uint64 // elements Push dropped for bad values (see ValueError)
}

// NewDecoder returns a Decoder with an empty intern table.
func NewDecoder() *Decoder {
	return &Decoder{in: interner{m: make(map[string]string, 256)}}
}

// Stats returns the error counts so far.
func (d *Decoder) Stats() Stats { return d.stats }

// BookRaw returns the received price/size strings of the *schema.Book being emitted, index-aligned with its
// Bids and Asks. It is valid only during that emit call (the slices alias the frame and are reused).
func (d *Decoder) BookRaw() *BookRaw { return &d.raw }

// Push decodes each element of a push's "data" array into the event type of env.Arg.Channel and calls emit
// once per event, in order. env must have been filled (by Envelope or ParseEnvelope) from this frame.
// Header.RecvNs is recvNs; Header.Channel is the channel; Header.InstID comes from the element, else from
// env.Arg; Header.Ts is the element's exchange time in ms. Seq is left 0 for the engine to stamp.
//
// Channels and events: tickers → *schema.Ticker; trades, trades-all → *schema.Trade; candle*,
// mark-price-candle*, index-candle* → *schema.Candle; funding-rate → *schema.FundingRate; mark-price →
// *schema.MarkPrice; index-tickers → *schema.IndexTicker; open-interest → *schema.OpenInterest; books,
// books5, bbo-tbt, books-l2-tbt, books50-l2-tbt, books-elp, books-rpi → *schema.Book (see BookRaw);
// orders → *schema.Order; fills → *schema.Fill; account → one *schema.Balance per details[] entry;
// positions → *schema.Position; balance_and_position → *schema.Balance per balData[] entry then
// *schema.Position per posData[] entry. Other channels (including "instruments": see ParseInstruments)
// return ErrUnknownChannel.
//
// n is the number of events emitted. On a malformed element Push stops and returns an ErrMalformed-wrapped
// error; events emitted before it stay emitted (each event is only emitted once fully decoded).
func (d *Decoder) Push(env *Envelope, frame []byte, recvNs int64, emit func(schema.Event)) (n int, err error) {
	if env.Kind != FramePush {
		d.stats.Malformed++
		return 0, fmt.Errorf("%w: push: envelope kind is %s", ErrMalformed, env.Kind)
	}
	start, end := env.dataStart, env.dataEnd
	if end == 0 || start < 0 || end > len(frame) || start >= end || frame[start] != '[' {
		if start, end, err = findData(frame); err != nil {
			d.stats.Malformed++
			return 0, err
		}
	}
	s := scanner{b: frame[:end], i: start}
	h := schema.Header{RecvNs: recvNs, Channel: env.Arg.Channel, InstID: env.Arg.InstID}
	d.vc = valueCheck{}
	switch ch := env.Arg.Channel; ch {
	case "tickers":
		n = d.tickers(&s, h, emit)
	case "trades", "trades-all":
		n = d.trades(&s, h, emit)
	case "books", "books-l2-tbt", "books50-l2-tbt", "books-elp", "books-rpi":
		n = d.books(&s, h, env.Action, emit)
	case "books5", "bbo-tbt":
		n = d.books(&s, h, schema.ActionSnapshot, emit)
	case "funding-rate":
		n = d.fundingRates(&s, h, emit)
	case "mark-price":
		n = d.markPrices(&s, h, emit)
	case "index-tickers":
		n = d.indexTickers(&s, h, emit)
	case "open-interest":
		n = d.openInterest(&s, h, emit)
	case "orders":
		n = d.orders(&s, h, emit)
	case "fills":
		n = d.fills(&s, h, emit)
	case "account":
		n = d.account(&s, h, env.EventType, emit)
	case "positions":
		n = d.positions(&s, h, env.EventType, emit)
	case "balance_and_position":
		n = d.balanceAndPosition(&s, h, emit)
	default:
		switch {
		case strings.HasPrefix(ch, "candle"):
			n = d.candles(&s, h, false, emit)
		case strings.HasPrefix(ch, "mark-price-candle"), strings.HasPrefix(ch, "index-candle"):
			n = d.candles(&s, h, true, emit)
		default:
			d.stats.UnknownChannel++
			return 0, fmt.Errorf("%w: %q", ErrUnknownChannel, ch)
		}
	}
	n = d.vc.n
	if s.bad {
		d.stats.Malformed++
		return n, s.err(env.Arg.Channel)
	}
	if vc := d.vc.err; vc != nil {
		d.vc.err = nil
		for _, c := range vc.Counts {
			d.stats.BadValue += uint64(c)
		}
		return n, vc
	}
	return n, nil
}

// nextObject advances to the next object of the array being iterated and consumes its '{'; i is the number
// of elements read so far (at 0 it also consumes the array's '[').
func (s *scanner) nextObject(i int) bool {
	if i == 0 && !s.open('[') {
		return false
	}
	return s.more(']', i) && s.open('{')
}
