package decode

import "github.com/okxtape/okxtape/schema"

// Private channels (orders, fills, account, positions, balance_and_position). Their rates are low, so ids
// (ordId, clOrdId, tradeId, posId) are allocated rather than interned; enumerations are interned.

func (d *Decoder) orders(s *scanner, h schema.Header, emit func(schema.Event)) int {
	o := &d.order
	return d.each(s, o, emit, func() {
		*o = schema.Order{Header: h, Px: nan, Sz: nan, AccFillSz: nan, AvgPx: nan, FillPx: nan, FillSz: nan,
			Fee: nan, Pnl: nan, Lever: nan}
		for j := 0; s.more('}', j); j++ {
			k := s.key()
			switch string(k) {
			case "ordId":
				o.OrdID = s.text(nil)
			case "clOrdId":
				o.ClOrdID = s.text(nil)
			case "px":
				o.Px = s.float()
			case "sz":
				o.Sz = s.float()
			case "ordType":
				o.OrdType = s.text(&d.in)
			case "side":
				o.Side = s.side(&d.in)
			case "posSide":
				o.PosSide = s.text(&d.in)
			case "tdMode":
				o.TdMode = s.text(&d.in)
			case "state":
				o.State = s.text(&d.in)
			case "accFillSz":
				o.AccFillSz = s.float()
			case "avgPx":
				o.AvgPx = s.float()
			case "fillPx":
				o.FillPx = s.float()
			case "fillSz":
				o.FillSz = s.float()
			case "fillTime":
				o.FillTime = s.int(0)
			case "tradeId":
				o.TradeID = s.text(nil)
			case "fee":
				o.Fee = s.float()
			case "feeCcy":
				o.FeeCcy = s.text(&d.in)
			case "pnl":
				o.Pnl = s.float()
			case "lever":
				o.Lever = s.float()
			case "cTime":
				o.CTime = s.int(0)
			case "uTime":
				o.UTime = s.int(0)
			default:
				s.common(k, &o.Header, &o.InstType, &d.in)
			}
		}
		o.Ts = o.UTime // an order's time is its update time, whatever "ts" says
	})
}

func (d *Decoder) fills(s *scanner, h schema.Header, emit func(schema.Event)) int {
	f := &d.fill
	return d.each(s, f, emit, func() {
		*f = schema.Fill{Header: h, FillPx: nan, FillSz: nan, Count: 1}
		for j := 0; s.more('}', j); j++ {
			k := s.key()
			switch string(k) {
			case "ordId":
				f.OrdID = s.text(nil)
			case "clOrdId":
				f.ClOrdID = s.text(nil)
			case "tradeId":
				f.TradeID = s.text(nil)
			case "fillPx":
				f.FillPx = s.float()
			case "fillSz":
				f.FillSz = s.float()
			case "side":
				f.Side = s.side(&d.in)
			case "execType":
				f.ExecType = s.text(&d.in)
			case "count":
				f.Count = s.int(1)
			default:
				s.common(k, &f.Header, nil, &d.in)
			}
		}
	})
}

// account emits one Balance per details[] entry of each data element. TotalEq comes from the element; Ts is
// the element's uTime (the entry's uTime when the element has none).
func (d *Decoder) account(s *scanner, h schema.Header, eventType string, emit func(schema.Event)) int {
	n := 0
	for i := 0; s.nextObject(i); i++ {
		totalEq, uTime := nan, int64(0)
		ds, de := -1, -1
		for j := 0; s.more('}', j); j++ {
			switch string(s.key()) {
			case "totalEq":
				totalEq = s.float()
			case "uTime":
				uTime = s.int(0)
			case "details":
				ds, de = s.span()
			default:
				s.skip()
			}
		}
		if s.bad || ds < 0 {
			continue
		}
		n += d.balances(s, ds, de, h, totalEq, uTime, eventType, emit)
	}
	return n
}

// balances emits a Balance for each object of the array at s.b[start:end]; failures are reported on s.
func (d *Decoder) balances(s *scanner, start, end int, h schema.Header, totalEq float64, ts int64,
	eventType string, emit func(schema.Event)) int {
	n, b := 0, &d.bal
	sub := scanner{b: s.b[:end], i: start}
	if sub.peek() == 'n' { // null
		return 0
	}
	for i := 0; sub.nextObject(i); i++ {
		*b = schema.Balance{Header: h, Eq: nan, CashBal: nan, AvailBal: nan, FrozenBal: nan, Upl: nan, EqUsd: nan,
			TotalEq: totalEq, EventType: eventType}
		b.InstID = ""
		for j := 0; sub.more('}', j); j++ {
			switch string(sub.key()) {
			case "ccy":
				b.InstID = sub.text(&d.in)
			case "eq":
				b.Eq = sub.float()
			case "cashBal":
				b.CashBal = sub.float()
			case "availBal":
				b.AvailBal = sub.float()
			case "frozenBal":
				b.FrozenBal = sub.float()
			case "upl":
				b.Upl = sub.float()
			case "eqUsd":
				b.EqUsd = sub.float()
			case "uTime":
				b.Ts = sub.int(0)
			default:
				sub.skip()
			}
		}
		if sub.bad {
			break
		}
		if ts != 0 {
			b.Ts = ts
		}
		d.put(&sub, b, emit)
		n++
	}
	s.adopt(&sub)
	return n
}

func (d *Decoder) positions(s *scanner, h schema.Header, eventType string, emit func(schema.Event)) int {
	p := &d.pos
	return d.each(s, p, emit, func() {
		s.position(p, h, eventType, &d.in)
	})
}

// position decodes one positions element (or posData entry) after its '{'. Ts is uTime.
func (s *scanner) position(p *schema.Position, h schema.Header, eventType string, in *interner) {
	*p = schema.Position{Header: h, Pos: nan, AvgPx: nan, Upl: nan, Lever: nan, LiqPx: nan, MarkPx: nan,
		Margin: nan, EventType: eventType}
	for j := 0; s.more('}', j); j++ {
		switch string(s.key()) {
		case "instId":
			p.InstID = s.text(in)
		case "instType":
			p.InstType = s.text(in)
		case "posId":
			p.PosID = s.text(nil)
		case "posSide":
			p.PosSide = s.text(in)
		case "mgnMode":
			p.MgnMode = s.text(in)
		case "pos":
			p.Pos = s.float()
		case "avgPx":
			p.AvgPx = s.float()
		case "upl":
			p.Upl = s.float()
		case "lever":
			p.Lever = s.float()
		case "liqPx":
			p.LiqPx = s.float()
		case "markPx":
			p.MarkPx = s.float()
		case "margin":
			p.Margin = s.float()
		case "ccy":
			p.Ccy = s.text(in)
		case "cTime":
			p.CTime = s.int(0)
		case "uTime":
			p.UTime = s.int(0)
		default:
			s.skip()
		}
	}
	p.Ts = p.UTime
}

// balanceAndPosition emits, per data element, a Balance per balData[] entry and then a Position per
// posData[] entry, with the element's eventType and its pTime as Ts (entry uTime when pTime is absent).
func (d *Decoder) balanceAndPosition(s *scanner, h schema.Header, emit func(schema.Event)) int {
	n := 0
	for i := 0; s.nextObject(i); i++ {
		var pTime int64
		var eventType string
		bs, be, ps, pe := -1, -1, -1, -1
		for j := 0; s.more('}', j); j++ {
			switch string(s.key()) {
			case "pTime":
				pTime = s.int(0)
			case "eventType":
				eventType = s.text(&d.in)
			case "balData":
				bs, be = s.span()
			case "posData":
				ps, pe = s.span()
			default:
				s.skip()
			}
		}
		if s.bad {
			break
		}
		if bs >= 0 {
			n += d.balances(s, bs, be, h, nan, pTime, eventType, emit)
		}
		if ps >= 0 && !s.bad {
			n += d.posData(s, ps, pe, h, pTime, eventType, emit)
		}
	}
	return n
}

func (d *Decoder) posData(s *scanner, start, end int, h schema.Header, ts int64, eventType string,
	emit func(schema.Event)) int {
	n, p := 0, &d.pos
	sub := scanner{b: s.b[:end], i: start}
	if sub.peek() == 'n' { // null
		return 0
	}
	for i := 0; sub.nextObject(i); i++ {
		sub.position(p, h, eventType, &d.in)
		if sub.bad {
			break
		}
		if ts != 0 {
			p.Ts = ts
		}
		d.put(&sub, p, emit)
		n++
	}
	s.adopt(&sub)
	return n
}

// adopt copies a sub-scanner's failure into s.
func (s *scanner) adopt(sub *scanner) {
	if sub.bad && !s.bad {
		s.bad, s.what, s.key0, s.at = true, sub.what, sub.key0, sub.at
		s.i = len(s.b)
	}
}
