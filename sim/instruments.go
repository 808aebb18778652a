package sim

import (
	"fmt"
	"strings"
	"sync/atomic"
)

// instrument is one synthetic (or captured) OKX instrument and its market state.
type instrument struct {
	ID      string // BTC-USDT, BTC-USDT-SWAP
	Type    string // SPOT | SWAP | FUTURES
	Base    string
	Quote   string
	TickDec int   // price decimals: tickSz = 10^-TickDec
	LotDec  int   // size decimals: lotSz = 10^-LotDec
	MinSz   int64 // in lots
	CtVal   string
	Mid0    int64 // initial mid price in ticks
	SzLo    int64 // per-level size range in lots
	SzHi    int64
	Code    int64 // instIdCode
	List    int64 // listTime ms
	mkt     *market
	state   atomic.Int32 // stateLive, stateHidden (not listed yet) or stateExpired (listing.go)
}

type baseSpec struct {
	base     string
	px       float64
	tickDec  int
	spotLot  int
	swapLot  int
	ctVal    string
	spotMinU int64 // spot minSz in lots
}

var knownBases = []baseSpec{
	{"BTC", 60000, 1, 8, 2, "0.01", 1000},
	{"ETH", 3000, 2, 6, 2, "0.1", 100},
	{"SOL", 150, 2, 6, 2, "1", 1000},
	{"XRP", 0.5, 4, 6, 0, "100", 1000000},
	{"DOGE", 0.15, 5, 6, 0, "1000", 10000000},
	{"ADA", 0.45, 4, 6, 0, "100", 1000000},
	{"LTC", 80, 2, 6, 0, "1", 1000},
	{"LINK", 15, 3, 6, 0, "1", 10000},
	{"DOT", 6, 3, 6, 0, "1", 100000},
	{"AVAX", 30, 2, 6, 0, "1", 10000},
	{"BCH", 400, 1, 6, 0, "0.1", 1000},
	{"TRX", 0.12, 5, 6, 0, "1000", 10000000},
	{"UNI", 8, 3, 6, 0, "1", 100000},
	{"TON", 5, 3, 6, 0, "1", 100000},
}

// buildUniverse returns n SPOT instruments and their SWAP twins, in order BTC-USDT, BTC-USDT-SWAP, ETH-USDT, ...
func buildUniverse(n int) []*instrument {
	var out []*instrument
	for i := 0; i < n; i++ {
		var b baseSpec
		if i < len(knownBases) {
			b = knownBases[i]
		} else {
			b = baseSpec{fmt.Sprintf("C%03d", i), 10, 3, 4, 0, "1", 1000}
		}
		mid := int64(b.px * pow10f(b.tickDec))
		list := int64(1573557408000) + int64(i)*86400000
		spot := &instrument{ID: b.base + "-USDT", Type: "SPOT", Base: b.base, Quote: "USDT", TickDec: b.tickDec,
			LotDec: b.spotLot, MinSz: b.spotMinU, Mid0: mid, SzLo: b.spotMinU, SzHi: b.spotMinU * 200000,
			Code: int64(10000 + 2*i), List: list}
		swap := &instrument{ID: b.base + "-USDT-SWAP", Type: "SWAP", Base: b.base, Quote: "USDT",
			TickDec: b.tickDec, LotDec: b.swapLot, MinSz: 1, CtVal: b.ctVal, Mid0: mid, SzLo: 1,
			SzHi: 5000 * pow10i(b.swapLot), Code: int64(10001 + 2*i), List: list}
		out = append(out, spot, swap)
	}
	return out
}

// instrumentFromID guesses an instrument's parameters from its id (capture mode).
func instrumentFromID(id string, i int) *instrument {
	parts := strings.Split(id, "-")
	in := &instrument{ID: id, Type: "SPOT", TickDec: 2, LotDec: 4, MinSz: 1, Mid0: 100000, SzLo: 1, SzHi: 10000,
		Code: int64(20000 + i), List: 1573557408000}
	if len(parts) >= 2 {
		in.Base, in.Quote = parts[0], parts[1]
	}
	switch {
	case len(parts) == 3 && parts[2] == "SWAP":
		in.Type, in.CtVal, in.LotDec = "SWAP", "1", 0
	case len(parts) == 3:
		in.Type, in.CtVal, in.LotDec = "FUTURES", "1", 0
	case len(parts) > 3:
		in.Type = "OPTION"
	}
	return in
}

func pow10f(n int) float64 {
	f := 1.0
	for ; n > 0; n-- {
		f *= 10
	}
	return f
}

func pow10i(n int) int64 {
	v := int64(1)
	for ; n > 0; n-- {
		v *= 10
	}
	return v
}

// appendInstrumentJSON appends the OKX REST / instruments-channel object for in.
func appendInstrumentJSON(b []byte, in *instrument) []byte {
	tick := fmtFixed(1, in.TickDec)
	lot := fmtFixed(1, in.LotDec)
	b = append(b, '{')
	b = appendKV(b, "alias", "")
	b = appendKV(b, "auctionEndTime", "")
	if in.Type == "SPOT" {
		b = appendKV(b, "baseCcy", in.Base)
	} else {
		b = appendKV(b, "baseCcy", "")
	}
	b = appendKV(b, "category", "1")
	b = appendKV(b, "contTdSwTime", "")
	fam, settle, quote, ctType, ctVal, ctMult, ctValCcy, lever := "", "", in.Quote, "", "", "", "", ""
	if in.Type != "SPOT" {
		fam, settle, quote, ctType, ctVal, ctMult, ctValCcy, lever =
			in.Base+"-"+in.Quote, in.Quote, "", "linear", in.CtVal, "1", in.Base, "100"
	}
	b = appendKV(b, "ctMult", ctMult)
	b = appendKV(b, "ctType", ctType)
	b = appendKV(b, "ctVal", ctVal)
	b = appendKV(b, "ctValCcy", ctValCcy)
	b = appendKV(b, "expTime", "")
	b = appendKRaw(b, "futureSettlement", []byte("false"))
	b = appendKV(b, "instFamily", fam)
	b = appendKV(b, "instId", in.ID)
	b = appendKInt(b, "instIdCode", in.Code)
	b = appendKV(b, "instType", in.Type)
	b = appendKV(b, "lever", lever)
	b = appendKMs(b, "listTime", in.List)
	b = appendKV(b, "lotSz", lot)
	b = appendKV(b, "maxIcebergSz", "9999999999.0000000000000000")
	b = appendKV(b, "maxLmtAmt", "20000000")
	b = appendKV(b, "maxLmtSz", "9999999999")
	b = appendKV(b, "maxMktAmt", "1000000")
	b = appendKV(b, "maxMktSz", "1000000")
	b = appendKV(b, "maxStopSz", "1000000")
	b = appendKV(b, "maxTriggerSz", "9999999999.0000000000000000")
	b = appendKV(b, "maxTwapSz", "9999999999.0000000000000000")
	b = appendKV(b, "minSz", fmtFixed(in.MinSz, in.LotDec))
	b = appendKV(b, "openType", "")
	b = appendKV(b, "optType", "")
	b = appendKV(b, "preMktSwTime", "")
	b = appendKV(b, "quoteCcy", quote)
	b = appendKV(b, "ruleType", "normal")
	b = appendKV(b, "settleCcy", settle)
	b = appendKV(b, "state", in.stateName())
	b = appendKV(b, "stk", "")
	b = appendKV(b, "tickSz", tick)
	b = appendKRaw(b, "tradeQuoteCcyList", []byte("[]"))
	b = appendKV(b, "uly", fam)
	return append(b, '}')
}
