package schema

// Events of the public derivatives channels: liquidation-orders, price-limit, opt-summary, estimated-price.

// Liquidation is one details[] entry of a liquidation-orders push (InstID is the push element's instId, Ts the
// entry's ts). OKX says the channel is not a complete record and its data are not necessarily in time order,
// so a stream of liquidations is not sorted by Ts; the digest hashes it as a set (see the channel registry).
type Liquidation struct {
	Header
	InstType   string
	InstFamily string
	Uly        string
	Side       string // side of the liquidation order: SideBuy or SideSell
	PosSide    string // long, short or net
	BkPx       float64
	Sz         float64 // contracts (base currency for MARGIN)
	BkLoss     float64
	Ccy        string // MARGIN only
}

func (*Liquidation) Kind() Kind { return KindLiquidation }

// LiquidationTable stores liquidations.
var LiquidationTable = register(&Table{Name: "liquidations", Key: []string{"inst_id", "channel", "ts", ValuesKey}, Kind: KindLiquidation,
	New: func() Stored { return new(Liquidation) },
	Columns: []Column{
		{Name: "inst_type", Type: String, Dict: true}, {Name: "inst_family", Type: String, Dict: true},
		{Name: "uly", Type: String, Dict: true}, {Name: "side", Type: String, Dict: true},
		{Name: "pos_side", Type: String, Dict: true}, {Name: "bk_px", Type: Float64},
		{Name: "sz", Type: Float64}, {Name: "bk_loss", Type: Float64}, {Name: "ccy", Type: String, Dict: true},
	}})

func (e *Liquidation) WriteRow(w RowWriter) {
	e.writeHeader(w)
	for _, v := range [...]string{e.InstType, e.InstFamily, e.Uly, e.Side, e.PosSide} {
		w.String(v)
	}
	w.Float64(e.BkPx)
	w.Float64(e.Sz)
	w.Float64(e.BkLoss)
	w.String(e.Ccy)
}

func (e *Liquidation) ReadRow(r RowReader) {
	e.readHeader(r)
	for _, p := range [...]*string{&e.InstType, &e.InstFamily, &e.Uly, &e.Side, &e.PosSide} {
		*p = r.String()
	}
	e.BkPx = r.Float64()
	e.Sz = r.Float64()
	e.BkLoss = r.Float64()
	e.Ccy = r.String()
}

// PriceLimit is one entry of the price-limit channel: the highest buy and lowest sell price allowed (NaN when
// limits are disabled, which OKX sends as "").
type PriceLimit struct {
	Header
	InstType string
	BuyLmt   float64
	SellLmt  float64
	Enabled  bool
}

func (*PriceLimit) Kind() Kind { return KindPriceLimit }

// PriceLimitTable stores price limits.
var PriceLimitTable = register(&Table{Name: "price_limits", Key: []string{"inst_id", "channel", "ts", ValuesKey}, Kind: KindPriceLimit,
	New: func() Stored { return new(PriceLimit) },
	Columns: []Column{
		{Name: "inst_type", Type: String, Dict: true}, {Name: "buy_lmt", Type: Float64},
		{Name: "sell_lmt", Type: Float64}, {Name: "enabled", Type: Bool},
	}})

func (e *PriceLimit) WriteRow(w RowWriter) {
	e.writeHeader(w)
	w.String(e.InstType)
	w.Float64(e.BuyLmt)
	w.Float64(e.SellLmt)
	w.Bool(e.Enabled)
}

func (e *PriceLimit) ReadRow(r RowReader) {
	e.readHeader(r)
	e.InstType = r.String()
	e.BuyLmt = r.Float64()
	e.SellLmt = r.Float64()
	e.Enabled = r.Bool()
}

// OptSummary is one entry of the opt-summary channel: an option's greeks (PA: in coins; BS: Black-Scholes,
// in USD) and implied volatilities.
type OptSummary struct {
	Header
	InstType string
	Uly      string
	Delta    float64
	Gamma    float64
	Vega     float64
	Theta    float64
	DeltaBS  float64
	GammaBS  float64
	VegaBS   float64
	ThetaBS  float64
	Lever    float64
	MarkVol  float64
	BidVol   float64
	AskVol   float64
	RealVol  float64
	VolLv    float64
	FwdPx    float64
}

func (*OptSummary) Kind() Kind { return KindOptSummary }

// OptSummaryTable stores option summaries.
var OptSummaryTable = register(&Table{Name: "opt_summaries", Key: []string{"inst_id", "channel", "ts", ValuesKey}, Kind: KindOptSummary,
	New: func() Stored { return new(OptSummary) },
	Columns: []Column{
		{Name: "inst_type", Type: String, Dict: true}, {Name: "uly", Type: String, Dict: true},
		{Name: "delta", Type: Float64}, {Name: "gamma", Type: Float64}, {Name: "vega", Type: Float64},
		{Name: "theta", Type: Float64}, {Name: "delta_bs", Type: Float64}, {Name: "gamma_bs", Type: Float64},
		{Name: "vega_bs", Type: Float64}, {Name: "theta_bs", Type: Float64}, {Name: "lever", Type: Float64},
		{Name: "mark_vol", Type: Float64}, {Name: "bid_vol", Type: Float64}, {Name: "ask_vol", Type: Float64},
		{Name: "real_vol", Type: Float64}, {Name: "vol_lv", Type: Float64}, {Name: "fwd_px", Type: Float64},
	}})

func (e *OptSummary) floats() [15]*float64 {
	return [...]*float64{&e.Delta, &e.Gamma, &e.Vega, &e.Theta, &e.DeltaBS, &e.GammaBS, &e.VegaBS, &e.ThetaBS,
		&e.Lever, &e.MarkVol, &e.BidVol, &e.AskVol, &e.RealVol, &e.VolLv, &e.FwdPx}
}

func (e *OptSummary) WriteRow(w RowWriter) {
	e.writeHeader(w)
	w.String(e.InstType)
	w.String(e.Uly)
	for _, p := range e.floats() {
		w.Float64(*p)
	}
}

func (e *OptSummary) ReadRow(r RowReader) {
	e.readHeader(r)
	e.InstType = r.String()
	e.Uly = r.String()
	for _, p := range e.floats() {
		*p = r.Float64()
	}
}

// EstimatedPrice is one entry of the estimated-price channel: the estimated delivery, exercise or settlement
// price, pushed only in the hour before it.
type EstimatedPrice struct {
	Header
	InstType   string
	SettleType string // settlement, delivery or exercise
	SettlePx   float64
}

func (*EstimatedPrice) Kind() Kind { return KindEstimatedPrice }

// EstimatedPriceTable stores estimated prices.
var EstimatedPriceTable = register(&Table{Name: "estimated_prices", Key: []string{"inst_id", "channel", "ts", ValuesKey}, Kind: KindEstimatedPrice,
	New: func() Stored { return new(EstimatedPrice) },
	Columns: []Column{
		{Name: "inst_type", Type: String, Dict: true}, {Name: "settle_type", Type: String, Dict: true},
		{Name: "settle_px", Type: Float64},
	}})

func (e *EstimatedPrice) WriteRow(w RowWriter) {
	e.writeHeader(w)
	w.String(e.InstType)
	w.String(e.SettleType)
	w.Float64(e.SettlePx)
}

func (e *EstimatedPrice) ReadRow(r RowReader) {
	e.readHeader(r)
	e.InstType = r.String()
	e.SettleType = r.String()
	e.SettlePx = r.Float64()
}
