package sim

import (
	"math"
	"slices"
	"strconv"
)

// privArg builds the push arg of a private subscription: its selectors plus the account uid.
func (h *privHub) privArg(sb *sub) []byte {
	b := []byte(`{"arg":{`)
	b = appendKV(b, "channel", sb.channel)
	for _, kv := range [][2]string{{"instType", sb.instType}, {"instFamily", sb.instFamily}, {"instId", sb.instID}, {"ccy", sb.ccy}} {
		if kv[1] != "" {
			b = appendKV(b, kv[0], kv[1])
		}
	}
	b = appendKV(b, "uid", h.s.uid)
	return append(b, '}')
}

func f8(v float64) string { return fmtFloat(v, 8) }

func (h *privHub) orderPush(sb *sub, o *order, now int64) frameOut {
	in := o.in
	px, sz := func(t int64) string { return fmtFixed(t, in.TickDec) }, func(l int64) string { return fmtFixed(l, in.LotDec) }
	tdMode, lever, feeCcy := "cash", "", in.Quote
	if in.Type != "SPOT" {
		tdMode, lever = "cross", "10"
	}
	fillPx, fillSz, fillTime, execType, tradeID, avgPx, fillFee := "", "0", "", "", "", "0", "0"
	if o.fillSz > 0 {
		fillPx, fillSz, fillTime, execType, tradeID = px(o.fillPx), sz(o.fillSz), strconv.FormatInt(now, 10), "M", o.tradeID
		fillFee = f8(-0.0005 * float64(o.fillSz) / pow10f(in.LotDec) * float64(o.fillPx) / pow10f(in.TickDec))
	}
	if o.filled > 0 {
		avgPx = fmtFloat(o.avgPx, in.TickDec+2)
	}
	b := h.privArg(sb)
	b = append(b, `,"data":[{`...)
	b = appendKV(b, "accFillSz", sz(o.filled))
	b = appendKV(b, "algoClOrdId", "")
	b = appendKV(b, "algoId", "")
	b = appendKV(b, "amendResult", "")
	b = appendKV(b, "amendSource", "")
	b = appendKV(b, "attachAlgoClOrdId", "")
	b = appendKRaw(b, "attachAlgoOrds", []byte("[]"))
	b = appendKV(b, "avgPx", avgPx)
	b = appendKMs(b, "cTime", o.cTime)
	b = appendKV(b, "cancelSource", "")
	b = appendKV(b, "cancelSourceReason", "")
	b = appendKV(b, "category", "normal")
	b = appendKV(b, "ccy", "")
	b = appendKV(b, "clOrdId", o.clID)
	b = appendKV(b, "code", "0")
	b = appendKV(b, "execType", execType)
	b = appendKV(b, "fee", f8(o.fee))
	b = appendKV(b, "feeCcy", feeCcy)
	b = appendKV(b, "fillFee", fillFee)
	b = appendKV(b, "fillFeeCcy", feeCcy)
	b = appendKV(b, "fillPx", fillPx)
	b = appendKV(b, "fillSz", fillSz)
	b = appendKV(b, "fillTime", fillTime)
	b = appendKV(b, "instId", in.ID)
	b = appendKV(b, "instType", in.Type)
	b = appendKV(b, "isTpLimit", "false")
	b = appendKV(b, "lever", lever)
	b = appendKRaw(b, "linkedAlgoOrd", []byte(`{"algoId":""}`))
	b = appendKV(b, "msg", "")
	b = appendKV(b, "ordId", o.id)
	b = appendKV(b, "ordType", "limit")
	b = appendKV(b, "pnl", "0")
	b = appendKV(b, "posSide", "net")
	b = appendKV(b, "px", px(o.px))
	b = appendKV(b, "pxType", "")
	b = appendKV(b, "pxUsd", "")
	b = appendKV(b, "pxVol", "")
	b = appendKV(b, "quickMgnType", "")
	b = appendKV(b, "rebate", "0")
	b = appendKV(b, "rebateCcy", feeCcy)
	b = appendKV(b, "reduceOnly", "false")
	b = appendKV(b, "reqId", "")
	b = appendKV(b, "side", o.side)
	b = appendKV(b, "slOrdPx", "")
	b = appendKV(b, "slTriggerPx", "")
	b = appendKV(b, "slTriggerPxType", "")
	b = appendKV(b, "source", "")
	b = appendKV(b, "state", o.state)
	b = appendKV(b, "stpId", "")
	b = appendKV(b, "stpMode", "cancel_maker")
	b = appendKV(b, "sz", sz(o.sz))
	b = appendKV(b, "tag", "")
	b = appendKV(b, "tdMode", tdMode)
	b = appendKV(b, "tgtCcy", "")
	b = appendKV(b, "tpOrdPx", "")
	b = appendKV(b, "tpTriggerPx", "")
	b = appendKV(b, "tpTriggerPxType", "")
	b = appendKV(b, "tradeId", tradeID)
	b = appendKMs(b, "uTime", now)
	return frameOut{data: append(b, `}]}`...), items: 1}
}

func (h *privHub) fillPush(sb *sub, o *order, now int64) frameOut {
	b := h.privArg(sb)
	b = append(b, `,"data":[{`...)
	b = appendKV(b, "instId", o.in.ID)
	b = appendKV(b, "fillSz", fmtFixed(o.fillSz, o.in.LotDec))
	b = appendKV(b, "fillPx", fmtFixed(o.fillPx, o.in.TickDec))
	b = appendKV(b, "side", o.side)
	b = appendKMs(b, "ts", now)
	b = appendKV(b, "ordId", o.id)
	b = appendKV(b, "clOrdId", o.clID)
	b = appendKV(b, "tradeId", o.tradeID)
	b = appendKV(b, "execType", "M")
	b = appendKV(b, "count", "1")
	return frameOut{data: append(b, `}]}`...), items: 1}
}

// usdPrice values one unit of ccy in USD using the simulated markets.
func (h *privHub) usdPrice(ccy string) float64 {
	if ccy == "USDT" {
		return 1.00032
	}
	in := h.s.byID[ccy+"-USDT"]
	if in == nil {
		return 0
	}
	in.mkt.mu.Lock()
	defer in.mkt.mu.Unlock()
	return float64(in.mkt.mid()) / pow10f(in.TickDec)
}

func (h *privHub) accountPush(sb *sub, eventType string, now int64) frameOut {
	b := h.privArg(sb)
	b = append(b, `,"eventType":"`...)
	b = append(b, eventType...)
	b = append(b, `","curPage":1,"lastPage":true,"data":[{`...)
	b = appendKV(b, "adjEq", "")
	b = appendKV(b, "availEq", "")
	b = appendKV(b, "borrowFroz", "")
	b = append(b, `,"details":[`...)
	total := 0.0
	n := 0
	for _, ccy := range h.ccys {
		bal := h.bal[ccy]
		eqUsd := bal * h.usdPrice(ccy)
		total += eqUsd
		if sb.ccy != "" && sb.ccy != ccy {
			continue
		}
		if n > 0 {
			b = append(b, ',')
		}
		n++
		b = append(b, '{')
		b = appendKV(b, "availBal", f8(bal))
		b = appendKV(b, "availEq", f8(bal))
		b = appendKV(b, "cashBal", f8(bal))
		b = appendKV(b, "ccy", ccy)
		b = appendKV(b, "coinUsdPrice", fmtFloat(h.usdPrice(ccy), 8))
		b = appendKV(b, "disEq", f8(eqUsd))
		b = appendKV(b, "eq", f8(bal))
		b = appendKV(b, "eqUsd", f8(eqUsd))
		b = appendKV(b, "frozenBal", "0")
		b = appendKV(b, "imr", "0")
		b = appendKV(b, "isoEq", "0")
		b = appendKV(b, "liab", "")
		b = appendKV(b, "mmr", "0")
		b = appendKV(b, "ordFrozen", "0")
		b = appendKMs(b, "uTime", now)
		b = appendKV(b, "upl", "0")
		b = append(b, '}')
	}
	b = append(b, ']')
	b = appendKV(b, "imr", "")
	b = appendKV(b, "isoEq", "0")
	b = appendKV(b, "mgnRatio", "")
	b = appendKV(b, "mmr", "")
	b = appendKV(b, "notionalUsd", "")
	b = appendKV(b, "ordFroz", "")
	b = appendKV(b, "totalEq", f8(total))
	b = appendKMs(b, "uTime", now)
	b = appendKV(b, "upl", "")
	return frameOut{data: append(b, `}]}`...), items: 1}
}

// sortedPositions returns the open positions (or just instID's, even if flat) matching sb.
func (h *privHub) sortedPositions(sb *sub, instID string) []*position {
	var out []*position
	for id, p := range h.pos {
		if (instID == "" && p.pos == 0) || (instID != "" && id != instID) || (sb != nil && !matches(sb, p.in)) {
			continue
		}
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b *position) int {
		if a.in.ID < b.in.ID {
			return -1
		}
		return 1
	})
	return out
}

func (h *privHub) appendPosition(b []byte, p *position, now int64) []byte {
	in := p.in
	mark := h.usdPrice(in.Base)
	ct := parseF(in.CtVal)
	upl := (mark - p.avgPx) * p.pos * ct
	notional := math.Abs(p.pos) * ct * mark
	b = append(b, '{')
	b = appendKV(b, "adl", "1")
	b = appendKV(b, "availPos", "")
	b = appendKV(b, "avgPx", fmtFloat(p.avgPx, in.TickDec+2))
	b = appendKMs(b, "cTime", p.cTime)
	b = appendKV(b, "ccy", in.Quote)
	b = appendKV(b, "fee", "0")
	b = appendKV(b, "fundingFee", "0")
	b = appendKV(b, "idxPx", fmtFloat(mark, in.TickDec))
	b = appendKV(b, "imr", f8(notional/10))
	b = appendKV(b, "instId", in.ID)
	b = appendKV(b, "instType", in.Type)
	b = appendKV(b, "last", fmtFloat(mark, in.TickDec))
	b = appendKV(b, "lever", "10")
	b = appendKV(b, "liqPx", "")
	b = appendKV(b, "margin", "")
	b = appendKV(b, "markPx", fmtFloat(mark, in.TickDec))
	b = appendKV(b, "mgnMode", "cross")
	b = appendKV(b, "mgnRatio", "")
	b = appendKV(b, "mmr", f8(notional*0.004))
	b = appendKV(b, "notionalUsd", f8(notional))
	b = appendKMs(b, "pTime", now)
	b = appendKV(b, "pos", fmtFloat(p.pos, in.LotDec))
	b = appendKV(b, "posCcy", "")
	b = appendKV(b, "posId", p.id)
	b = appendKV(b, "posSide", "net")
	b = appendKV(b, "realizedPnl", "0")
	b = appendKV(b, "tradeId", strconv.FormatInt(h.tradeID, 10))
	b = appendKMs(b, "uTime", p.uTime)
	b = appendKV(b, "upl", f8(upl))
	b = appendKV(b, "uplRatio", f8(upl/math.Max(notional/10, 1e-9)))
	return append(b, '}')
}

func (h *privHub) positionsPush(sb *sub, eventType, instID string, now int64) frameOut {
	ps := h.sortedPositions(sb, instID)
	b := h.privArg(sb)
	b = append(b, `,"eventType":"`...)
	b = append(b, eventType...)
	b = append(b, `","curPage":1,"lastPage":true,"data":[`...)
	for i, p := range ps {
		if i > 0 {
			b = append(b, ',')
		}
		b = h.appendPosition(b, p, now)
	}
	return frameOut{data: append(b, `]}`...), items: len(ps)}
}

func (h *privHub) balPosPush(sb *sub, eventType, instID, tradeID string, now int64) frameOut {
	b := h.privArg(sb)
	b = append(b, `,"data":[{`...)
	b = appendKMs(b, "pTime", now)
	b = appendKV(b, "eventType", eventType)
	b = append(b, `,"balData":[`...)
	for i, ccy := range h.ccys {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '{')
		b = appendKV(b, "ccy", ccy)
		b = appendKV(b, "cashBal", f8(h.bal[ccy]))
		b = appendKMs(b, "uTime", now)
		b = append(b, '}')
	}
	b = append(b, `],"posData":[`...)
	for i, p := range h.sortedPositions(nil, instID) {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '{')
		b = appendKV(b, "avgPx", fmtFloat(p.avgPx, p.in.TickDec+2))
		b = appendKV(b, "ccy", p.in.Quote)
		b = appendKV(b, "instId", p.in.ID)
		b = appendKV(b, "instType", p.in.Type)
		b = appendKV(b, "mgnMode", "cross")
		b = appendKV(b, "nonSettleAvgPx", "")
		b = appendKV(b, "pos", fmtFloat(p.pos, p.in.LotDec))
		b = appendKV(b, "posCcy", "")
		b = appendKV(b, "posId", p.id)
		b = appendKV(b, "posSide", "net")
		b = appendKV(b, "settledPnl", "")
		b = appendKV(b, "tradeId", strconv.FormatInt(h.tradeID, 10))
		b = appendKMs(b, "uTime", p.uTime)
		b = append(b, '}')
	}
	b = append(b, `],"trades":[`...)
	if tradeID != "" {
		b = append(b, '{')
		b = appendKV(b, "instId", instID)
		b = appendKV(b, "tradeId", tradeID)
		b = append(b, '}')
	}
	return frameOut{data: append(b, `]}]}`...), items: 1}
}
