package schema

// Numbers are float64 parsed with correct rounding from OKX's decimal strings; an empty string ("not
// applicable") becomes NaN, never 0. The exact strings are kept in the raw-frame dataset.

// Ticker is one entry of the tickers channel.
type Ticker struct {
	Header
	InstType  string
	Last      float64
	LastSz    float64
	AskPx     float64
	AskSz     float64
	BidPx     float64
	BidSz     float64
	Open24h   float64
	High24h   float64
	Low24h    float64
	VolCcy24h float64
	Vol24h    float64
	SodUtc0   float64
	SodUtc8   float64
}

func (*Ticker) Kind() Kind { return KindTicker }

// TickerTable stores tickers.
var TickerTable = register(&Table{Name: "tickers", Key: []string{"inst_id", "channel", "ts", ValuesKey}, Kind: KindTicker, New: func() Stored { return new(Ticker) },
	Columns: []Column{
		{Name: "inst_type", Type: String, Dict: true},
		{Name: "last", Type: Float64}, {Name: "last_sz", Type: Float64},
		{Name: "ask_px", Type: Float64}, {Name: "ask_sz", Type: Float64},
		{Name: "bid_px", Type: Float64}, {Name: "bid_sz", Type: Float64},
		{Name: "open_24h", Type: Float64}, {Name: "high_24h", Type: Float64}, {Name: "low_24h", Type: Float64},
		{Name: "vol_ccy_24h", Type: Float64, Split: true}, {Name: "vol_24h", Type: Float64, Split: true},
		{Name: "sod_utc0", Type: Float64}, {Name: "sod_utc8", Type: Float64},
	}})

func (e *Ticker) WriteRow(w RowWriter) {
	e.writeHeader(w)
	w.String(e.InstType)
	for _, v := range [...]float64{e.Last, e.LastSz, e.AskPx, e.AskSz, e.BidPx, e.BidSz, e.Open24h, e.High24h,
		e.Low24h, e.VolCcy24h, e.Vol24h, e.SodUtc0, e.SodUtc8} {
		w.Float64(v)
	}
}

func (e *Ticker) ReadRow(r RowReader) {
	e.readHeader(r)
	e.InstType = r.String()
	for _, p := range [...]*float64{&e.Last, &e.LastSz, &e.AskPx, &e.AskSz, &e.BidPx, &e.BidSz, &e.Open24h,
		&e.High24h, &e.Low24h, &e.VolCcy24h, &e.Vol24h, &e.SodUtc0, &e.SodUtc8} {
		*p = r.Float64()
	}
}

// Trade is one entry of the trades (aggregated) or trades-all channel; Channel tells which.
type Trade struct {
	Header
	TradeID int64 // last trade id of the aggregate; negative for liquidation/ADL fills
	Px      float64
	Sz      float64
	Side    string // SideBuy or SideSell (taker side)
	Count   int64  // trades aggregated (1 for trades-all)
	Source  int64  // 0 normal, 1 RPI/ELP
	SeqID   int64  // OKX seqId (0 when absent; not a continuity check)
}

func (*Trade) Kind() Kind { return KindTrade }

// TradeTable stores trades.
var TradeTable = register(&Table{Name: "trades", Key: []string{"inst_id", "channel", "ts", "trade_id"}, Kind: KindTrade, New: func() Stored { return new(Trade) },
	Columns: []Column{
		{Name: "trade_id", Type: Int64}, {Name: "px", Type: Float64}, {Name: "sz", Type: Float64},
		{Name: "side", Type: String, Dict: true}, {Name: "count", Type: Int64}, {Name: "source", Type: Int64},
		{Name: "seq_id", Type: Int64},
	}})

func (e *Trade) WriteRow(w RowWriter) {
	e.writeHeader(w)
	w.Int64(e.TradeID)
	w.Float64(e.Px)
	w.Float64(e.Sz)
	w.String(e.Side)
	w.Int64(e.Count)
	w.Int64(e.Source)
	w.Int64(e.SeqID)
}

func (e *Trade) ReadRow(r RowReader) {
	e.readHeader(r)
	e.TradeID = r.Int64()
	e.Px = r.Float64()
	e.Sz = r.Float64()
	e.Side = r.String()
	e.Count = r.Int64()
	e.Source = r.Int64()
	e.SeqID = r.Int64()
}

// Candle is one bar of any candle channel (candle1m, candle1H, ...); Channel names the bar and Ts is the bar's
// open time. The open bar is pushed repeatedly; Confirm marks the final push.
type Candle struct {
	Header
	Open        float64
	High        float64
	Low         float64
	Close       float64
	Vol         float64
	VolCcy      float64
	VolCcyQuote float64
	Confirm     bool
}

func (*Candle) Kind() Kind { return KindCandle }

// CandleTable stores candles of every bar size.
var CandleTable = register(&Table{Name: "candles", Key: []string{"inst_id", "channel", "ts", "confirm", "vol"}, Kind: KindCandle, New: func() Stored { return new(Candle) },
	Columns: []Column{
		{Name: "open", Type: Float64}, {Name: "high", Type: Float64}, {Name: "low", Type: Float64},
		{Name: "close", Type: Float64}, {Name: "vol", Type: Float64}, {Name: "vol_ccy", Type: Float64},
		{Name: "vol_ccy_quote", Type: Float64}, {Name: "confirm", Type: Bool},
	}})

func (e *Candle) WriteRow(w RowWriter) {
	e.writeHeader(w)
	for _, v := range [...]float64{e.Open, e.High, e.Low, e.Close, e.Vol, e.VolCcy, e.VolCcyQuote} {
		w.Float64(v)
	}
	w.Bool(e.Confirm)
}

func (e *Candle) ReadRow(r RowReader) {
	e.readHeader(r)
	for _, p := range [...]*float64{&e.Open, &e.High, &e.Low, &e.Close, &e.Vol, &e.VolCcy, &e.VolCcyQuote} {
		*p = r.Float64()
	}
	e.Confirm = r.Bool()
}

// FundingRate is one entry of the funding-rate channel.
type FundingRate struct {
	Header
	InstType        string
	Method          string
	FundingRate     float64
	NextFundingRate float64
	FundingTime     int64 // ms
	NextFundingTime int64 // ms
	MinFundingRate  float64
	MaxFundingRate  float64
	InterestRate    float64
	ImpactValue     float64
	Premium         float64
	SettState       string
	SettFundingRate float64
}

func (*FundingRate) Kind() Kind { return KindFundingRate }

// FundingRateTable stores funding rates.
var FundingRateTable = register(&Table{Name: "funding_rates", Key: []string{"inst_id", "channel", "ts", ValuesKey}, Kind: KindFundingRate,
	New: func() Stored { return new(FundingRate) },
	Columns: []Column{
		{Name: "inst_type", Type: String, Dict: true}, {Name: "method", Type: String, Dict: true},
		{Name: "funding_rate", Type: Float64}, {Name: "next_funding_rate", Type: Float64},
		{Name: "funding_time", Type: TimeMs}, {Name: "next_funding_time", Type: TimeMs},
		{Name: "min_funding_rate", Type: Float64}, {Name: "max_funding_rate", Type: Float64},
		{Name: "interest_rate", Type: Float64}, {Name: "impact_value", Type: Float64},
		{Name: "premium", Type: Float64}, {Name: "sett_state", Type: String, Dict: true},
		{Name: "sett_funding_rate", Type: Float64},
	}})

func (e *FundingRate) WriteRow(w RowWriter) {
	e.writeHeader(w)
	w.String(e.InstType)
	w.String(e.Method)
	w.Float64(e.FundingRate)
	w.Float64(e.NextFundingRate)
	w.Int64(e.FundingTime)
	w.Int64(e.NextFundingTime)
	w.Float64(e.MinFundingRate)
	w.Float64(e.MaxFundingRate)
	w.Float64(e.InterestRate)
	w.Float64(e.ImpactValue)
	w.Float64(e.Premium)
	w.String(e.SettState)
	w.Float64(e.SettFundingRate)
}

func (e *FundingRate) ReadRow(r RowReader) {
	e.readHeader(r)
	e.InstType = r.String()
	e.Method = r.String()
	e.FundingRate = r.Float64()
	e.NextFundingRate = r.Float64()
	e.FundingTime = r.Int64()
	e.NextFundingTime = r.Int64()
	e.MinFundingRate = r.Float64()
	e.MaxFundingRate = r.Float64()
	e.InterestRate = r.Float64()
	e.ImpactValue = r.Float64()
	e.Premium = r.Float64()
	e.SettState = r.String()
	e.SettFundingRate = r.Float64()
}

// MarkPrice is one entry of the mark-price channel.
type MarkPrice struct {
	Header
	InstType string
	MarkPx   float64
}

func (*MarkPrice) Kind() Kind { return KindMarkPrice }

// MarkPriceTable stores mark prices.
var MarkPriceTable = register(&Table{Name: "mark_prices", Key: []string{"inst_id", "channel", "ts", ValuesKey}, Kind: KindMarkPrice,
	New:     func() Stored { return new(MarkPrice) },
	Columns: []Column{{Name: "inst_type", Type: String, Dict: true}, {Name: "mark_px", Type: Float64}}})

func (e *MarkPrice) WriteRow(w RowWriter) {
	e.writeHeader(w)
	w.String(e.InstType)
	w.Float64(e.MarkPx)
}

func (e *MarkPrice) ReadRow(r RowReader) {
	e.readHeader(r)
	e.InstType = r.String()
	e.MarkPx = r.Float64()
}

// IndexTicker is one entry of the index-tickers channel (InstID is the index, e.g. BTC-USDT).
type IndexTicker struct {
	Header
	IdxPx   float64
	Open24h float64
	High24h float64
	Low24h  float64
	SodUtc0 float64
	SodUtc8 float64
}

func (*IndexTicker) Kind() Kind { return KindIndexTicker }

// IndexTickerTable stores index tickers.
var IndexTickerTable = register(&Table{Name: "index_tickers", Key: []string{"inst_id", "channel", "ts", ValuesKey}, Kind: KindIndexTicker,
	New: func() Stored { return new(IndexTicker) },
	Columns: []Column{
		{Name: "idx_px", Type: Float64}, {Name: "open_24h", Type: Float64}, {Name: "high_24h", Type: Float64},
		{Name: "low_24h", Type: Float64}, {Name: "sod_utc0", Type: Float64}, {Name: "sod_utc8", Type: Float64},
	}})

func (e *IndexTicker) WriteRow(w RowWriter) {
	e.writeHeader(w)
	for _, v := range [...]float64{e.IdxPx, e.Open24h, e.High24h, e.Low24h, e.SodUtc0, e.SodUtc8} {
		w.Float64(v)
	}
}

func (e *IndexTicker) ReadRow(r RowReader) {
	e.readHeader(r)
	for _, p := range [...]*float64{&e.IdxPx, &e.Open24h, &e.High24h, &e.Low24h, &e.SodUtc0, &e.SodUtc8} {
		*p = r.Float64()
	}
}

// OpenInterest is one entry of the open-interest channel.
type OpenInterest struct {
	Header
	InstType string
	OI       float64
	OICcy    float64
	OIUsd    float64
}

func (*OpenInterest) Kind() Kind { return KindOpenInterest }

// OpenInterestTable stores open interest.
var OpenInterestTable = register(&Table{Name: "open_interest", Key: []string{"inst_id", "channel", "ts", ValuesKey}, Kind: KindOpenInterest,
	New: func() Stored { return new(OpenInterest) },
	Columns: []Column{
		{Name: "inst_type", Type: String, Dict: true}, {Name: "oi", Type: Float64},
		{Name: "oi_ccy", Type: Float64}, {Name: "oi_usd", Type: Float64},
	}})

func (e *OpenInterest) WriteRow(w RowWriter) {
	e.writeHeader(w)
	w.String(e.InstType)
	w.Float64(e.OI)
	w.Float64(e.OICcy)
	w.Float64(e.OIUsd)
}

func (e *OpenInterest) ReadRow(r RowReader) {
	e.readHeader(r)
	e.InstType = r.String()
	e.OI = r.Float64()
	e.OICcy = r.Float64()
	e.OIUsd = r.Float64()
}
