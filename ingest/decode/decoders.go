package decode

import (
	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/schema/channels"
)

// decodeFunc decodes the "data" array of one push (s is positioned at its '[') into events of the channel's
// kinds, calling emit once per event; it returns the number emitted. A malformed element sets s.bad.
type decodeFunc func(d *Decoder, s *scanner, h schema.Header, env *Envelope, emit func(schema.Event)) int

// plain adapts a decoder that needs nothing of the envelope but the header.
func plain(f func(d *Decoder, s *scanner, h schema.Header, emit func(schema.Event)) int) decodeFunc {
	return func(d *Decoder, s *scanner, h schema.Header, _ *Envelope, emit func(schema.Event)) int {
		return f(d, s, h, emit)
	}
}

// decoders holds the decoders named by the registry entries' Decoder field (schema/channels). Adding a
// channel adds its entry there and, unless it shares a message shape with another channel, one decoder
// here (its parsing in a file of its own, its reusable event from d.scratch); TestEveryEntryHasADecoder
// fails until both exist.
var decoders = map[string]decodeFunc{
	"liquidation":     plain((*Decoder).liquidations),
	"price-limit":     plain((*Decoder).priceLimits),
	"instrument":      plain((*Decoder).instrumentsPush),
	"status":          plain((*Decoder).statuses),
	"opt-summary":     plain((*Decoder).optSummaries),
	"estimated-price": plain((*Decoder).estimatedPrices),
	"ticker":          plain((*Decoder).tickers),
	"trade":           plain((*Decoder).trades),
	// candle: [ts, o, h, l, c, vol, volCcy, volCcyQuote, confirm]
	"candle": func(d *Decoder, s *scanner, h schema.Header, _ *Envelope, emit func(schema.Event)) int {
		return d.candles(s, h, false, emit)
	},
	// short-candle: the mark-price and index candles, [ts, o, h, l, c, confirm]
	"short-candle": func(d *Decoder, s *scanner, h schema.Header, _ *Envelope, emit func(schema.Event)) int {
		return d.candles(s, h, true, emit)
	},
	// book-update: snapshot + update channels; the envelope's "action" says which.
	"book-update": func(d *Decoder, s *scanner, h schema.Header, env *Envelope, emit func(schema.Event)) int {
		return d.books(s, h, env.Action, emit)
	},
	// book-snapshot: every message is a full snapshot (no "action").
	"book-snapshot": func(d *Decoder, s *scanner, h schema.Header, _ *Envelope, emit func(schema.Event)) int {
		return d.books(s, h, schema.ActionSnapshot, emit)
	},
	"funding": plain((*Decoder).fundingRates),
	"mark":    plain((*Decoder).markPrices),
	"index":   plain((*Decoder).indexTickers),
	"oi":      plain((*Decoder).openInterest),
	"order":   plain((*Decoder).orders),
	"fill":    plain((*Decoder).fills),
	// balance: account pushes, one Balance per details[] entry
	"balance": func(d *Decoder, s *scanner, h schema.Header, env *Envelope, emit func(schema.Event)) int {
		return d.account(s, h, env.EventType, emit)
	},
	"position": func(d *Decoder, s *scanner, h schema.Header, env *Envelope, emit func(schema.Event)) int {
		return d.positions(s, h, env.EventType, emit)
	},
	"balance-position": plain((*Decoder).balanceAndPosition),
}

// byEntry is decoders indexed by channels.Entry.ID (nil where an entry's decoder is missing).
var byEntry = func() []decodeFunc {
	all := channels.All()
	out := make([]decodeFunc, len(all))
	for _, e := range all {
		out[e.ID()] = decoders[e.Decoder]
	}
	return out
}()

// decoderFor returns the decoder of a wire channel name, or nil when the registry or decoders lack it.
func decoderFor(channel string) decodeFunc {
	if e := channels.Lookup(channel); e != nil {
		return byEntry[e.ID()]
	}
	return nil
}
