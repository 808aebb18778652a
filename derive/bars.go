package derive

import (
	"math"
	"strings"

	"github.com/okxtape/okxtape/schema"
)

// barState accumulates the open bar of one (trade channel, instrument, interval).
type barState struct {
	iv                  int64 // ms
	open                bool
	start               int64 // ms
	o, h, l, c          float64
	firstTs, lastTs     int64
	firstSeq, lastSeq   uint64
	vol, buy, sell, pxv float64
	trades              int64
	recvNs              int64
}

func (d *Deriver) barStates(h *schema.Header) []*barState {
	k := key{h.Channel, h.InstID}
	if bs := d.bars[k]; bs != nil {
		return bs
	}
	bs := make([]*barState, len(d.o.Bars))
	for i, iv := range d.o.Bars {
		bs[i] = &barState{iv: iv.Milliseconds()}
	}
	d.bars[key{strings.Clone(k.channel), strings.Clone(k.instID)}] = bs // kept beyond the event: own the strings
	return bs
}

func (d *Deriver) onTrade(tr *schema.Trade) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.st.Trades++
	d.now = max(d.now, d.clock(&tr.Header))
	if math.IsNaN(tr.Px) || math.IsInf(tr.Px, 0) || math.IsNaN(tr.Sz) || math.IsInf(tr.Sz, 0) {
		d.st.InvalidTrades++
		return
	}
	late := false
	for _, b := range d.barStates(&tr.Header) {
		start := tr.Ts - mod(tr.Ts, b.iv)
		if b.open && start > b.start {
			d.emitBar(tr.Channel, tr.InstID, b)
		}
		if b.open && start < b.start {
			late = true // its bar was written already; replay (ordered by ts) would have counted it
			continue
		}
		b.add(tr, start)
	}
	if late {
		d.st.LateTrades++
	}
}

func (b *barState) add(tr *schema.Trade, start int64) {
	n := max(tr.Count, 1)
	if !b.open {
		*b = barState{iv: b.iv, open: true, start: start, o: tr.Px, h: tr.Px, l: tr.Px, c: tr.Px,
			firstTs: tr.Ts, lastTs: tr.Ts, firstSeq: tr.Seq, lastSeq: tr.Seq}
	} else {
		b.h, b.l = max(b.h, tr.Px), min(b.l, tr.Px)
		if before(tr.Ts, tr.Seq, b.firstTs, b.firstSeq) {
			b.o, b.firstTs, b.firstSeq = tr.Px, tr.Ts, tr.Seq
		}
		if !before(tr.Ts, tr.Seq, b.lastTs, b.lastSeq) {
			b.c, b.lastTs, b.lastSeq = tr.Px, tr.Ts, tr.Seq
		}
	}
	b.vol += tr.Sz
	b.pxv += tr.Px * tr.Sz
	switch tr.Side {
	case schema.SideBuy:
		b.buy += tr.Sz
	case schema.SideSell:
		b.sell += tr.Sz
	}
	b.trades += n
	b.recvNs = max(b.recvNs, tr.RecvNs)
}

// before orders trades by exchange time, then arrival sequence.
func before(ts int64, seq uint64, ts2 int64, seq2 uint64) bool {
	return ts < ts2 || (ts == ts2 && seq < seq2)
}

func (d *Deriver) emitBar(channel, instID string, b *barState) {
	if !b.open {
		return
	}
	r := &d.bar
	*r = schema.TradeBar{Header: schema.Header{RecvNs: b.recvNs, Channel: channel, InstID: instID, Ts: b.start},
		IntervalMs: b.iv, Open: b.o, High: b.h, Low: b.l, Close: b.c, Volume: b.vol, BuyVolume: b.buy,
		SellVolume: b.sell, Trades: b.trades, Vwap: math.NaN()}
	if b.vol != 0 {
		r.Vwap = b.pxv / b.vol
	}
	b.open = false
	d.out(r, schema.TradeBarTable.Name)
}

// mod is a modulo that is never negative.
func mod(a, b int64) int64 {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}
