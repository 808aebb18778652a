package decode

import (
	"fmt"

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
	liq     schema.Liquidation
	plim    schema.PriceLimit
	opt     schema.OptSummary
	est     schema.EstimatedPrice
	inst    schema.Instrument
	status  schema.Status
	vc      valueCheck // the Push in progress

	// ev holds one reusable event per kind for decoders without a field above (scratch).
	ev [schema.NumKinds]schema.Stored

	sc     scanner    // the push being decoded
	lastCh string     // the channel of the previous push (interned) and its decoder: skips the lookup
	lastFn decodeFunc // for runs of one channel
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

// scratch returns the Decoder's reusable event of kind k, made on first use: a channel's decoder takes its
// event from here (ev := d.scratch(schema.KindX).(*schema.X)), so adding one needs no field in Decoder.
func (d *Decoder) scratch(k schema.Kind) schema.Stored {
	if d.ev[k] == nil {
		d.ev[k] = schema.TableOf(k).New()
	}
	return d.ev[k]
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
// Channels and events: the channel is looked up in the registry (schema/channels) and decoded by its
// entry's decoder (decoders.go) into the entry's Kinds: order-book channels give *schema.Book (see BookRaw);
// account gives one *schema.Balance per details[] entry; balance_and_position a *schema.Balance per
// balData[] entry then a *schema.Position per posData[] entry; liquidation-orders one *schema.Liquidation per
// details[] entry; instruments a *schema.Instrument per instrument, with Ts the receive time (the channel
// has no exchange time). Channels without an entry return ErrUnknownChannel.
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
	ch := env.Arg.Channel
	if ch != d.lastCh || d.lastFn == nil {
		d.lastCh, d.lastFn = ch, decoderFor(ch)
	}
	if d.lastFn == nil {
		d.stats.UnknownChannel++
		return 0, fmt.Errorf("%w: %q", ErrUnknownChannel, ch)
	}
	// The scanner lives in the Decoder: passed through a func value, a local one would escape to the heap.
	s := &d.sc
	*s = scanner{b: frame[:end], i: start}
	h := schema.Header{RecvNs: recvNs, Channel: ch, InstID: env.Arg.InstID}
	d.vc = valueCheck{}
	d.lastFn(d, s, h, env, emit)
	n = d.vc.n
	if s.bad {
		d.stats.Malformed++
		err = s.err(ch)
	}
	s.b = nil // do not keep the frame
	if err != nil {
		return n, err
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
