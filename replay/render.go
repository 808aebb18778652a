package replay

import (
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/schema/channels"
)

// RenderTables are the datasets replay serve re-renders into OKX pushes when no raw frames are stored: the
// decoded kinds of the registry's channels marked channels.RenderRows, in Kind order.
func RenderTables() []*schema.Table {
	var want [schema.NumKinds]bool
	for _, e := range channels.All() {
		if e.Render == channels.RenderRows {
			for _, k := range e.Kinds {
				want[k] = true
			}
		}
	}
	var out []*schema.Table
	for _, t := range schema.Tables() {
		if want[t.Kind] {
			out = append(out, t)
		}
	}
	return out
}

// AppendPush appends an OKX v5 push frame carrying ev (one element in "data") to buf, in the shape OKX sends
// for ev's channel: numbers as decimal strings (shortest round-trip form; NaN, OKX's "", as ""), times as ms
// strings, book levels as [px, sz, "0", numOrders], incremental books with "action", seqId, prevSeqId and
// checksum. ok is false for events that have no public push form (account data, quotes, gaps, raw frames).
//
// A re-rendered frame decodes to the same event (except local columns), but it is not byte-identical to what
// OKX sent: OKX's own decimal spelling (trailing zeros) is only in the raw-frame dataset.
func AppendPush(buf []byte, ev schema.Stored) (_ []byte, ok bool) {
	h := ev.Hdr()
	w := jw{b: buf}
	w.raw(`{"arg":{"channel":`)
	w.str(h.Channel)
	w.raw(`,"instId":`)
	w.str(h.InstID)
	w.raw(`},`)
	switch e := ev.(type) {
	case *schema.Ticker:
		w.ticker(e)
	case *schema.Trade:
		w.trade(e)
	case *schema.Candle:
		w.candle(e)
	case *schema.FundingRate:
		w.fundingRate(e)
	case *schema.MarkPrice:
		w.raw(`"data":[{"instType":`)
		w.str(e.InstType)
		w.kstr("instId", h.InstID)
		w.knum("markPx", e.MarkPx)
		w.kint("ts", h.Ts)
		w.raw(`}]}`)
	case *schema.IndexTicker:
		w.indexTicker(e)
	case *schema.OpenInterest:
		w.raw(`"data":[{"instType":`)
		w.str(e.InstType)
		w.kstr("instId", h.InstID)
		w.knum("oi", e.OI)
		w.knum("oiCcy", e.OICcy)
		w.knum("oiUsd", e.OIUsd)
		w.kint("ts", h.Ts)
		w.raw(`}]}`)
	case *schema.Book:
		w.book(e)
	default:
		return buf, false
	}
	return w.b, true
}

func (w *jw) ticker(e *schema.Ticker) {
	w.raw(`"data":[{"instType":`)
	w.str(e.InstType)
	w.kstr("instId", e.InstID)
	for _, f := range [...]struct {
		k string
		v float64
	}{{"last", e.Last}, {"lastSz", e.LastSz}, {"askPx", e.AskPx}, {"askSz", e.AskSz}, {"bidPx", e.BidPx},
		{"bidSz", e.BidSz}, {"open24h", e.Open24h}, {"high24h", e.High24h}, {"low24h", e.Low24h},
		{"volCcy24h", e.VolCcy24h}, {"vol24h", e.Vol24h}, {"sodUtc0", e.SodUtc0}, {"sodUtc8", e.SodUtc8}} {
		w.knum(f.k, f.v)
	}
	w.kint("ts", e.Ts)
	w.raw(`}]}`)
}

func (w *jw) trade(e *schema.Trade) {
	w.raw(`"data":[{"instId":`)
	w.str(e.InstID)
	w.kint("tradeId", e.TradeID)
	w.knum("px", e.Px)
	w.knum("sz", e.Sz)
	w.kstr("side", e.Side)
	w.kint("ts", e.Ts)
	if e.Channel != "trades-all" {
		w.kint("count", e.Count)
	}
	w.kint("source", e.Source)
	if e.Channel != "trades-all" && e.SeqID != 0 {
		w.raw(`,"seqId":`)
		w.b = strconv.AppendInt(w.b, e.SeqID, 10)
	}
	w.raw(`}]}`)
}

func (w *jw) candle(e *schema.Candle) {
	w.raw(`"data":[[`)
	w.str(strconv.FormatInt(e.Ts, 10))
	vals := []float64{e.Open, e.High, e.Low, e.Close, e.Vol, e.VolCcy, e.VolCcyQuote}
	if strings.HasPrefix(e.Channel, "mark-price-candle") || strings.HasPrefix(e.Channel, "index-candle") {
		vals = vals[:4]
	}
	for _, v := range vals {
		w.raw(",")
		w.num(v)
	}
	if e.Confirm {
		w.raw(`,"1"]]}`)
	} else {
		w.raw(`,"0"]]}`)
	}
}

// fundingRate writes OKX's funding-rate element, keys in OKX's (alphabetical) order. formulaType is not
// stored in the normalised dataset, so it is sent empty (raw-frame serving sends OKX's value).
func (w *jw) fundingRate(e *schema.FundingRate) {
	w.raw(`"data":[{"formulaType":""`)
	w.knum("fundingRate", e.FundingRate)
	w.kint("fundingTime", e.FundingTime)
	w.knum("impactValue", e.ImpactValue)
	w.kstr("instId", e.InstID)
	w.kstr("instType", e.InstType)
	w.knum("interestRate", e.InterestRate)
	w.knum("maxFundingRate", e.MaxFundingRate)
	w.kstr("method", e.Method)
	w.knum("minFundingRate", e.MinFundingRate)
	w.knum("nextFundingRate", e.NextFundingRate)
	w.kint("nextFundingTime", e.NextFundingTime)
	w.knum("premium", e.Premium)
	w.knum("settFundingRate", e.SettFundingRate)
	w.kstr("settState", e.SettState)
	w.kint("ts", e.Ts)
	w.raw(`}]}`)
}

func (w *jw) indexTicker(e *schema.IndexTicker) {
	w.raw(`"data":[{"instId":`)
	w.str(e.InstID)
	w.knum("idxPx", e.IdxPx)
	w.knum("open24h", e.Open24h)
	w.knum("high24h", e.High24h)
	w.knum("low24h", e.Low24h)
	w.knum("sodUtc0", e.SodUtc0)
	w.knum("sodUtc8", e.SodUtc8)
	w.kint("ts", e.Ts)
	w.raw(`}]}`)
}

func (w *jw) book(e *schema.Book) {
	incremental := IncrementalBook(e.Channel)
	if incremental {
		w.raw(`"action":`)
		w.str(e.Action)
		w.raw(",")
	}
	w.raw(`"data":[{"asks":`)
	w.levels(e.Asks)
	w.raw(`,"bids":`)
	w.levels(e.Bids)
	if e.Channel == "books5" {
		w.kstr("instId", e.InstID)
	}
	w.kint("ts", e.Ts)
	if incremental {
		w.raw(`,"checksum":`)
		w.b = strconv.AppendInt(w.b, e.Checksum, 10)
		w.raw(`,"prevSeqId":`)
		w.b = strconv.AppendInt(w.b, e.PrevSeqID, 10)
	}
	w.raw(`,"seqId":`)
	w.b = strconv.AppendInt(w.b, e.SeqID, 10)
	w.raw(`}]}`)
}

// IncrementalBook reports the depth channels that send a snapshot followed by updates (seqId chains).
func IncrementalBook(channel string) bool {
	e := channels.Lookup(channel)
	return e != nil && e.IsDepth()
}

// jw is a minimal JSON appender for the fixed push shapes.
type jw struct{ b []byte }

func (w *jw) raw(s string) { w.b = append(w.b, s...) }

func (w *jw) str(s string) {
	w.b = append(w.b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			w.b = append(w.b, '\\', c)
			i++
		case c < 0x20:
			w.b = append(w.b, `\u00`...)
			w.b = append(w.b, "0123456789abcdef"[c>>4], "0123456789abcdef"[c&15])
			i++
		case c < utf8.RuneSelf:
			w.b = append(w.b, c)
			i++
		default:
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				w.b = append(w.b, `\ufffd`...)
			} else {
				w.b = append(w.b, s[i:i+n]...)
			}
			i += n
		}
	}
	w.b = append(w.b, '"')
}

// num writes a float as a decimal string ("" for NaN, OKX's empty field).
func (w *jw) num(v float64) {
	w.b = append(w.b, '"')
	if !math.IsNaN(v) && !math.IsInf(v, 0) {
		w.b = strconv.AppendFloat(w.b, v, 'f', -1, 64)
	}
	w.b = append(w.b, '"')
}

func (w *jw) key(k string) {
	w.b = append(w.b, ',', '"')
	w.b = append(w.b, k...)
	w.b = append(w.b, '"', ':')
}

func (w *jw) kstr(k, v string)         { w.key(k); w.str(v) }
func (w *jw) knum(k string, v float64) { w.key(k); w.num(v) }

// kint writes an integer as a decimal string (OKX sends ids and times as strings).
func (w *jw) kint(k string, v int64) {
	w.key(k)
	w.b = append(w.b, '"')
	w.b = strconv.AppendInt(w.b, v, 10)
	w.b = append(w.b, '"')
}

func (w *jw) levels(lv []schema.Level) {
	w.b = append(w.b, '[')
	for i, l := range lv {
		if i > 0 {
			w.b = append(w.b, ',')
		}
		w.b = append(w.b, '[')
		w.num(l.Px)
		w.b = append(w.b, ',')
		w.num(l.Sz)
		w.raw(`,"0","`)
		w.b = strconv.AppendInt(w.b, l.Orders, 10)
		w.raw(`"]`)
	}
	w.b = append(w.b, ']')
}
