package decode

import (
	"math"

	"github.com/okxtape/okxtape/schema"
)

// Public market-data channels. Every element decoder starts after the element's '{', resets the reused
// struct (floats to NaN so that a missing field is "not applicable", never 0) and reads fields in any order,
// skipping unknown ones.

var nan = math.NaN()

func (d *Decoder) tickers(s *scanner, h schema.Header, emit func(schema.Event)) int {
	t := &d.ticker
	return d.each(s, t, emit, func() {
		*t = schema.Ticker{Header: h, Last: nan, LastSz: nan, AskPx: nan, AskSz: nan, BidPx: nan, BidSz: nan,
			Open24h: nan, High24h: nan, Low24h: nan, VolCcy24h: nan, Vol24h: nan, SodUtc0: nan, SodUtc8: nan}
		for j := 0; s.more('}', j); j++ {
			k := s.key()
			switch string(k) {
			case "last":
				t.Last = s.float()
			case "lastSz":
				t.LastSz = s.float()
			case "askPx":
				t.AskPx = s.float()
			case "askSz":
				t.AskSz = s.float()
			case "bidPx":
				t.BidPx = s.float()
			case "bidSz":
				t.BidSz = s.float()
			case "open24h":
				t.Open24h = s.float()
			case "high24h":
				t.High24h = s.float()
			case "low24h":
				t.Low24h = s.float()
			case "volCcy24h":
				t.VolCcy24h = s.float()
			case "vol24h":
				t.Vol24h = s.float()
			case "sodUtc0":
				t.SodUtc0 = s.float()
			case "sodUtc8":
				t.SodUtc8 = s.float()
			default:
				s.common(k, &t.Header, &t.InstType, &d.in)
			}
		}
	})
}

func (d *Decoder) trades(s *scanner, h schema.Header, emit func(schema.Event)) int {
	t := &d.trade
	return d.each(s, t, emit, func() {
		s.trade(t, h, &d.in)
	})
}

// trade decodes one trades / trades-all element (also a REST trade). Count is 1 when absent.
func (s *scanner) trade(t *schema.Trade, h schema.Header, in *interner) {
	*t = schema.Trade{Header: h, Px: nan, Sz: nan, Count: 1}
	for j := 0; s.more('}', j); j++ {
		k := s.key()
		switch string(k) {
		case "tradeId":
			t.TradeID = s.int(0)
		case "px":
			t.Px = s.float()
		case "sz":
			t.Sz = s.float()
		case "side":
			t.Side = s.side(in)
		case "count":
			t.Count = s.int(1)
		case "source":
			t.Source = s.int(0)
		case "seqId":
			t.SeqID = s.int(0)
		default:
			s.common(k, &t.Header, nil, in)
		}
	}
}

// candles decodes arrays [ts, o, h, l, c, vol, volCcy, volCcyQuote, confirm] (older recordings: shorter,
// at least [ts, o, h, l, c]). markIndex selects the mark-price/index candle layout [ts, o, h, l, c, confirm].
func (d *Decoder) candles(s *scanner, h schema.Header, markIndex bool, emit func(schema.Event)) int {
	n, c := 0, &d.candle
	if !s.open('[') {
		return 0
	}
	for i := 0; s.more(']', i); i++ {
		*c = schema.Candle{Header: h, Open: nan, High: nan, Low: nan, Close: nan, Vol: nan, VolCcy: nan,
			VolCcyQuote: nan}
		if !s.open('[') {
			break
		}
		j := 0
		for ; s.more(']', j); j++ {
			switch j {
			case 0:
				c.Ts = s.int(0)
			case 1:
				c.Open = s.float()
			case 2:
				c.High = s.float()
			case 3:
				c.Low = s.float()
			case 4:
				c.Close = s.float()
			case 5:
				if markIndex {
					c.Confirm = s.boolean()
				} else {
					c.Vol = s.float()
				}
			case 6:
				if markIndex {
					s.skip()
				} else {
					c.VolCcy = s.float()
				}
			case 7:
				if markIndex {
					s.skip()
				} else {
					c.VolCcyQuote = s.float()
				}
			case 8:
				if markIndex {
					s.skip()
				} else {
					c.Confirm = s.boolean()
				}
			default:
				s.skip()
			}
		}
		if s.bad {
			break
		}
		if j < 5 {
			s.fail("candle with fewer than 5 elements")
			break
		}
		d.put(s, c, emit)
		n++
	}
	return n
}

func (d *Decoder) fundingRates(s *scanner, h schema.Header, emit func(schema.Event)) int {
	f := &d.funding
	return d.each(s, f, emit, func() {
		*f = schema.FundingRate{Header: h, FundingRate: nan, NextFundingRate: nan, MinFundingRate: nan,
			MaxFundingRate: nan, InterestRate: nan, ImpactValue: nan, Premium: nan, SettFundingRate: nan}
		for j := 0; s.more('}', j); j++ {
			k := s.key()
			switch string(k) {
			case "method":
				f.Method = s.text(&d.in)
			case "fundingRate":
				f.FundingRate = s.float()
			case "nextFundingRate":
				f.NextFundingRate = s.float()
			case "fundingTime":
				f.FundingTime = s.int(0)
			case "nextFundingTime":
				f.NextFundingTime = s.int(0)
			case "minFundingRate":
				f.MinFundingRate = s.float()
			case "maxFundingRate":
				f.MaxFundingRate = s.float()
			case "interestRate":
				f.InterestRate = s.float()
			case "impactValue":
				f.ImpactValue = s.float()
			case "premium":
				f.Premium = s.float()
			case "settState":
				f.SettState = s.text(&d.in)
			case "settFundingRate":
				f.SettFundingRate = s.float()
			default:
				s.common(k, &f.Header, &f.InstType, &d.in)
			}
		}
	})
}

func (d *Decoder) markPrices(s *scanner, h schema.Header, emit func(schema.Event)) int {
	m := &d.mark
	return d.each(s, m, emit, func() {
		*m = schema.MarkPrice{Header: h, MarkPx: nan}
		for j := 0; s.more('}', j); j++ {
			k := s.key()
			switch string(k) {
			case "markPx":
				m.MarkPx = s.float()
			default:
				s.common(k, &m.Header, &m.InstType, &d.in)
			}
		}
	})
}

func (d *Decoder) indexTickers(s *scanner, h schema.Header, emit func(schema.Event)) int {
	x := &d.index
	return d.each(s, x, emit, func() {
		*x = schema.IndexTicker{Header: h, IdxPx: nan, Open24h: nan, High24h: nan, Low24h: nan, SodUtc0: nan,
			SodUtc8: nan}
		for j := 0; s.more('}', j); j++ {
			k := s.key()
			switch string(k) {
			case "idxPx":
				x.IdxPx = s.float()
			case "open24h":
				x.Open24h = s.float()
			case "high24h":
				x.High24h = s.float()
			case "low24h":
				x.Low24h = s.float()
			case "sodUtc0":
				x.SodUtc0 = s.float()
			case "sodUtc8":
				x.SodUtc8 = s.float()
			default:
				s.common(k, &x.Header, nil, &d.in)
			}
		}
	})
}

func (d *Decoder) openInterest(s *scanner, h schema.Header, emit func(schema.Event)) int {
	o := &d.oi
	return d.each(s, o, emit, func() {
		*o = schema.OpenInterest{Header: h, OI: nan, OICcy: nan, OIUsd: nan}
		for j := 0; s.more('}', j); j++ {
			k := s.key()
			switch string(k) {
			case "oi":
				o.OI = s.float()
			case "oiCcy":
				o.OICcy = s.float()
			case "oiUsd":
				o.OIUsd = s.float()
			default:
				s.common(k, &o.Header, &o.InstType, &d.in)
			}
		}
	})
}
