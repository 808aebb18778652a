package schema

// Clocks of derived book snapshots: which time decides the interval boundaries.
const (
	ClockExchange = "exchange" // boundaries in exchange time (Header.Ts of the book messages)
	ClockLocal    = "local"    // boundaries in local receive time (Header.RecvNs)
)

// BookSnapshot is the top Levels levels of a validated local book at an interval boundary, as it stood after
// every book message whose time (exchange or local, per Clock) was at or before the boundary. It is derived
// (package derive), not received.
//
// Ts is the boundary, Channel the depth channel the book came from, RecvNs the receive time of the last
// message applied (0 before any). InGap marks a boundary at which the book was not valid (no snapshot yet, or
// inside a sequence/checksum/crossed incident or a disconnect, until the next snapshot): the level lists are
// then empty, never a stale book.
type BookSnapshot struct {
	Header
	Clock      string // ClockExchange or ClockLocal
	IntervalMs int64
	Levels     int64 // requested depth; a side may hold fewer
	SeqID      int64 // seqId of the last message applied (0: none)
	BookTs     int64 // exchange time of the last message applied, Unix ms (0: none)
	InGap      bool
	BidPx      []float64 // best first
	BidSz      []float64
	AskPx      []float64 // best first
	AskSz      []float64
}

func (*BookSnapshot) Kind() Kind { return KindBookSnapshot }

// BookSnapshotTable stores derived book snapshots.
// A row is identified by its book, configuration and boundary (a rerun of derive replaces it).
var BookSnapshotTable = register(&Table{Name: "book_snapshots", Kind: KindBookSnapshot, Derived: true,
	Key: []string{"inst_id", "channel", "clock", "interval_ms", "levels", "ts"},
	New: func() Stored { return new(BookSnapshot) },
	Columns: []Column{
		{Name: "clock", Type: String, Dict: true, Doc: "exchange or local: which time the boundaries are in"},
		{Name: "interval_ms", Type: Int64, Doc: "snapshot interval in ms"},
		{Name: "levels", Type: Int64, Doc: "requested depth per side"},
		{Name: "seq_id", Type: Int64, Doc: "seqId of the last book message applied"},
		{Name: "book_ts", Type: TimeMs, Doc: "exchange time of the last book message applied"},
		{Name: "in_gap", Type: Bool, Doc: "the book was not valid at ts (gap or resync): levels are empty"},
		{Name: "bid_px", Type: Float64List}, {Name: "bid_sz", Type: Float64List},
		{Name: "ask_px", Type: Float64List}, {Name: "ask_sz", Type: Float64List},
	}})

func (e *BookSnapshot) WriteRow(w RowWriter) {
	e.writeHeader(w)
	w.String(e.Clock)
	w.Int64(e.IntervalMs)
	w.Int64(e.Levels)
	w.Int64(e.SeqID)
	w.Int64(e.BookTs)
	w.Bool(e.InGap)
	w.Float64s(e.BidPx)
	w.Float64s(e.BidSz)
	w.Float64s(e.AskPx)
	w.Float64s(e.AskSz)
}

func (e *BookSnapshot) ReadRow(r RowReader) {
	e.readHeader(r)
	e.Clock = r.String()
	e.IntervalMs = r.Int64()
	e.Levels = r.Int64()
	e.SeqID = r.Int64()
	e.BookTs = r.Int64()
	e.InGap = r.Bool()
	e.BidPx = r.Float64s(e.BidPx)
	e.BidSz = r.Float64s(e.BidSz)
	e.AskPx = r.Float64s(e.AskPx)
	e.AskSz = r.Float64s(e.AskSz)
}

// TradeBar aggregates the trades of one instrument and trade channel over [Ts, Ts+IntervalMs) of exchange time.
// It is derived (package derive), not received; intervals without trades have no bar.
//
// Open and Close are the prices of the first and last trade by (exchange time, arrival seq); Trades counts
// exchange trades (an aggregated trades row stands for Count of them); Volume = BuyVolume + SellVolume by
// taker side; Vwap = sum(px*sz)/Volume. RecvNs is the receive time of the bar's last trade.
type TradeBar struct {
	Header
	IntervalMs int64
	Open       float64
	High       float64
	Low        float64
	Close      float64
	Volume     float64
	BuyVolume  float64
	SellVolume float64
	Trades     int64
	Vwap       float64
}

func (*TradeBar) Kind() Kind { return KindTradeBar }

// TradeBarTable stores derived trade bars.
// A row is identified by its instrument, trade channel, bar length and start (a rerun of derive replaces it).
var TradeBarTable = register(&Table{Name: "trade_bars", Kind: KindTradeBar, Derived: true,
	Key: []string{"inst_id", "channel", "interval_ms", "ts"},
	New: func() Stored { return new(TradeBar) },
	Columns: []Column{
		{Name: "interval_ms", Type: Int64, Doc: "bar length in ms; ts is the bar start"},
		{Name: "open", Type: Float64}, {Name: "high", Type: Float64}, {Name: "low", Type: Float64},
		{Name: "close", Type: Float64}, {Name: "volume", Type: Float64}, {Name: "buy_volume", Type: Float64},
		{Name: "sell_volume", Type: Float64}, {Name: "trades", Type: Int64}, {Name: "vwap", Type: Float64},
	}})

func (e *TradeBar) WriteRow(w RowWriter) {
	e.writeHeader(w)
	w.Int64(e.IntervalMs)
	for _, v := range [...]float64{e.Open, e.High, e.Low, e.Close, e.Volume, e.BuyVolume, e.SellVolume} {
		w.Float64(v)
	}
	w.Int64(e.Trades)
	w.Float64(e.Vwap)
}

func (e *TradeBar) ReadRow(r RowReader) {
	e.readHeader(r)
	e.IntervalMs = r.Int64()
	for _, p := range [...]*float64{&e.Open, &e.High, &e.Low, &e.Close, &e.Volume, &e.BuyVolume, &e.SellVolume} {
		*p = r.Float64()
	}
	e.Trades = r.Int64()
	e.Vwap = r.Float64()
}
