package decode

import "github.com/okxtape/okxtape/schema"

// Decoders of the public channels liquidation-orders, price-limit, opt-summary, estimated-price, instruments
// and status. Like the market decoders they reset the reused struct per element (floats NaN), read fields in
// any order, and hand each element to put, which drops one with a value that is not data (bad_number, no_ts;
// instruments carry no exchange ts) and keeps the rest of the push.

// Instrument is one entry of GET /api/v5/public/instruments or of the "instruments" WebSocket channel: the
// stored event type itself (Header.Ts is 0 for REST entries).
type Instrument = schema.Instrument

// liquidations emits one *schema.Liquidation per details[] entry. The element's own fields (instId, instType,
// ...) may come after details, so details is remembered as a byte range and read once the element is done.
func (d *Decoder) liquidations(s *scanner, h schema.Header, emit func(schema.Event)) int {
	n, l := 0, &d.liq
	for i := 0; s.nextObject(i); i++ {
		base := schema.Liquidation{Header: h}
		ds, de := -1, -1
		for j := 0; s.more('}', j); j++ {
			switch string(s.key()) {
			case "instId":
				base.InstID = s.text(&d.in)
			case "instType":
				base.InstType = s.text(&d.in)
			case "instFamily":
				base.InstFamily = s.text(&d.in)
			case "uly":
				base.Uly = s.text(&d.in)
			case "details":
				ds, de = s.span()
			default:
				s.skip()
			}
		}
		if s.bad {
			break
		}
		if ds < 0 {
			s.fail("liquidation without details")
			break
		}
		sub := scanner{b: s.b[:de], i: ds}
		for k := 0; sub.nextObject(k); k++ {
			*l = base
			l.BkPx, l.Sz, l.BkLoss = nan, nan, nan
			sub.liquidationDetail(l, &d.in)
			if sub.bad {
				break
			}
			d.put(&sub, l, emit)
			n++
		}
		if sub.bad {
			*s = sub
			break
		}
	}
	return n
}

func (s *scanner) liquidationDetail(l *schema.Liquidation, in *interner) {
	for j := 0; s.more('}', j); j++ {
		switch string(s.key()) {
		case "side":
			l.Side = s.side(in)
		case "posSide":
			l.PosSide = s.text(in)
		case "bkPx":
			l.BkPx = s.float()
		case "sz":
			l.Sz = s.float()
		case "bkLoss":
			l.BkLoss = s.float()
		case "ccy":
			l.Ccy = s.text(in)
		case "ts":
			l.Ts = s.int(0)
		default:
			s.skip()
		}
	}
}

func (d *Decoder) priceLimits(s *scanner, h schema.Header, emit func(schema.Event)) int {
	p := &d.plim
	return d.each(s, p, emit, func() {
		*p = schema.PriceLimit{Header: h, BuyLmt: nan, SellLmt: nan}
		for j := 0; s.more('}', j); j++ {
			k := s.key()
			switch string(k) {
			case "buyLmt":
				p.BuyLmt = s.float()
			case "sellLmt":
				p.SellLmt = s.float()
			case "enabled":
				p.Enabled = s.boolean()
			default:
				s.common(k, &p.Header, &p.InstType, &d.in)
			}
		}
	})
}

func (d *Decoder) optSummaries(s *scanner, h schema.Header, emit func(schema.Event)) int {
	o := &d.opt
	return d.each(s, o, emit, func() {
		*o = schema.OptSummary{Header: h, Delta: nan, Gamma: nan, Vega: nan, Theta: nan, DeltaBS: nan, GammaBS: nan,
			VegaBS: nan, ThetaBS: nan, Lever: nan, MarkVol: nan, BidVol: nan, AskVol: nan, RealVol: nan, VolLv: nan,
			FwdPx: nan}
		for j := 0; s.more('}', j); j++ {
			k := s.key()
			switch string(k) {
			case "uly":
				o.Uly = s.text(&d.in)
			default:
				if p := optField(o, k); p != nil {
					*p = s.float()
				} else {
					s.common(k, &o.Header, &o.InstType, &d.in)
				}
			}
		}
	})
}

// optField maps an opt-summary key to its float field, or nil.
func optField(o *schema.OptSummary, k []byte) *float64 {
	switch string(k) {
	case "delta":
		return &o.Delta
	case "gamma":
		return &o.Gamma
	case "vega":
		return &o.Vega
	case "theta":
		return &o.Theta
	case "deltaBS":
		return &o.DeltaBS
	case "gammaBS":
		return &o.GammaBS
	case "vegaBS":
		return &o.VegaBS
	case "thetaBS":
		return &o.ThetaBS
	case "lever":
		return &o.Lever
	case "markVol":
		return &o.MarkVol
	case "bidVol":
		return &o.BidVol
	case "askVol":
		return &o.AskVol
	case "realVol":
		return &o.RealVol
	case "volLv":
		return &o.VolLv
	case "fwdPx":
		return &o.FwdPx
	}
	return nil
}

func (d *Decoder) estimatedPrices(s *scanner, h schema.Header, emit func(schema.Event)) int {
	e := &d.est
	return d.each(s, e, emit, func() {
		*e = schema.EstimatedPrice{Header: h, SettlePx: nan}
		for j := 0; s.more('}', j); j++ {
			k := s.key()
			switch string(k) {
			case "settleType":
				e.SettleType = s.text(&d.in)
			case "settlePx":
				e.SettlePx = s.float()
			default:
				s.common(k, &e.Header, &e.InstType, &d.in)
			}
		}
	})
}

// instrumentsPush emits one *schema.Instrument per entry; the channel has no exchange time, so Ts is the
// receive time in ms.
func (d *Decoder) instrumentsPush(s *scanner, h schema.Header, emit func(schema.Event)) int {
	in := &d.inst
	h.Ts = h.RecvNs / 1e6
	return d.each(s, in, emit, func() {
		s.instrument(in, h, &d.in)
	})
}

// instrument decodes one instruments entry (WebSocket or REST); with a nil interner strings are allocated.
func (s *scanner) instrument(e *schema.Instrument, h schema.Header, in *interner) {
	*e = schema.Instrument{Header: h, CtVal: nan, CtMult: nan, TickSz: nan, LotSz: nan, MinSz: nan, Lever: nan}
	for j := 0; s.more('}', j); j++ {
		switch string(s.key()) {
		case "instType":
			e.InstType = s.text(in)
		case "instId":
			e.InstID = s.text(in)
		case "instFamily":
			e.InstFamily = s.text(in)
		case "uly":
			e.Uly = s.text(in)
		case "baseCcy":
			e.BaseCcy = s.text(in)
		case "quoteCcy":
			e.QuoteCcy = s.text(in)
		case "settleCcy":
			e.SettleCcy = s.text(in)
		case "ctType":
			e.CtType = s.text(in)
		case "ctValCcy":
			e.CtValCcy = s.text(in)
		case "state":
			e.State = s.text(in)
		case "ruleType":
			e.RuleType = s.text(in)
		case "ctVal":
			e.CtVal = s.float()
		case "ctMult":
			e.CtMult = s.float()
		case "tickSz":
			e.TickSz = s.float()
		case "lotSz":
			e.LotSz = s.float()
		case "minSz":
			e.MinSz = s.float()
		case "lever":
			e.Lever = s.float()
		case "listTime":
			e.ListTime = s.int(0)
		case "expTime":
			e.ExpTime = s.int(0)
		default:
			s.skip()
		}
	}
}

func (d *Decoder) statuses(s *scanner, h schema.Header, emit func(schema.Event)) int {
	st := &d.status
	return d.each(s, st, emit, func() {
		*st = schema.Status{Header: h}
		for j := 0; s.more('}', j); j++ {
			switch string(s.key()) {
			case "title":
				st.Title = s.text(&d.in)
			case "state":
				st.State = s.text(&d.in)
			case "begin":
				st.BeginTime = s.int(0)
			case "end":
				st.EndTime = s.int(0)
			case "preOpenBegin":
				st.PreOpenBegin = s.int(0)
			case "href":
				st.Href = s.text(&d.in)
			case "serviceType":
				st.ServiceType = s.text(&d.in)
			case "system":
				st.System = s.text(&d.in)
			case "scheDesc":
				st.ScheDesc = s.text(&d.in)
			case "ts":
				st.Ts = s.int(0)
			default:
				s.skip()
			}
		}
	})
}
