package schema

// Order is one entry of the private orders channel.
type Order struct {
	Header
	InstType  string
	OrdID     string
	ClOrdID   string
	Px        float64
	Sz        float64
	OrdType   string
	Side      string
	PosSide   string
	TdMode    string
	State     string
	AccFillSz float64
	AvgPx     float64
	FillPx    float64
	FillSz    float64
	FillTime  int64
	TradeID   string
	Fee       float64
	FeeCcy    string
	Pnl       float64
	Lever     float64
	CTime     int64
	UTime     int64 // also Ts
}

func (*Order) Kind() Kind { return KindOrder }

// OrderTable stores order updates.
var OrderTable = register(&Table{Name: "orders", Key: []string{"inst_id", "channel", "ord_id", "u_time", "state", "trade_id"}, Kind: KindOrder, New: func() Stored { return new(Order) },
	Columns: []Column{
		{Name: "inst_type", Type: String, Dict: true}, {Name: "ord_id", Type: String}, {Name: "cl_ord_id", Type: String},
		{Name: "px", Type: Float64}, {Name: "sz", Type: Float64}, {Name: "ord_type", Type: String, Dict: true},
		{Name: "side", Type: String, Dict: true}, {Name: "pos_side", Type: String, Dict: true},
		{Name: "td_mode", Type: String, Dict: true}, {Name: "state", Type: String, Dict: true},
		{Name: "acc_fill_sz", Type: Float64}, {Name: "avg_px", Type: Float64}, {Name: "fill_px", Type: Float64},
		{Name: "fill_sz", Type: Float64}, {Name: "fill_time", Type: TimeMs}, {Name: "trade_id", Type: String},
		{Name: "fee", Type: Float64}, {Name: "fee_ccy", Type: String, Dict: true}, {Name: "pnl", Type: Float64},
		{Name: "lever", Type: Float64}, {Name: "c_time", Type: TimeMs}, {Name: "u_time", Type: TimeMs},
	}})

func (e *Order) WriteRow(w RowWriter) {
	e.writeHeader(w)
	w.String(e.InstType)
	w.String(e.OrdID)
	w.String(e.ClOrdID)
	w.Float64(e.Px)
	w.Float64(e.Sz)
	w.String(e.OrdType)
	w.String(e.Side)
	w.String(e.PosSide)
	w.String(e.TdMode)
	w.String(e.State)
	w.Float64(e.AccFillSz)
	w.Float64(e.AvgPx)
	w.Float64(e.FillPx)
	w.Float64(e.FillSz)
	w.Int64(e.FillTime)
	w.String(e.TradeID)
	w.Float64(e.Fee)
	w.String(e.FeeCcy)
	w.Float64(e.Pnl)
	w.Float64(e.Lever)
	w.Int64(e.CTime)
	w.Int64(e.UTime)
}

func (e *Order) ReadRow(r RowReader) {
	e.readHeader(r)
	e.InstType = r.String()
	e.OrdID = r.String()
	e.ClOrdID = r.String()
	e.Px = r.Float64()
	e.Sz = r.Float64()
	e.OrdType = r.String()
	e.Side = r.String()
	e.PosSide = r.String()
	e.TdMode = r.String()
	e.State = r.String()
	e.AccFillSz = r.Float64()
	e.AvgPx = r.Float64()
	e.FillPx = r.Float64()
	e.FillSz = r.Float64()
	e.FillTime = r.Int64()
	e.TradeID = r.String()
	e.Fee = r.Float64()
	e.FeeCcy = r.String()
	e.Pnl = r.Float64()
	e.Lever = r.Float64()
	e.CTime = r.Int64()
	e.UTime = r.Int64()
}

// Fill is one entry of the private fills channel.
type Fill struct {
	Header
	OrdID    string
	ClOrdID  string
	TradeID  string
	FillPx   float64
	FillSz   float64
	Side     string
	ExecType string // T taker, M maker
	Count    int64
}

func (*Fill) Kind() Kind { return KindFill }

// FillTable stores fills.
var FillTable = register(&Table{Name: "fills", Key: []string{"inst_id", "channel", "ts", "trade_id", "ord_id"}, Kind: KindFill, New: func() Stored { return new(Fill) },
	Columns: []Column{
		{Name: "ord_id", Type: String}, {Name: "cl_ord_id", Type: String}, {Name: "trade_id", Type: String},
		{Name: "fill_px", Type: Float64}, {Name: "fill_sz", Type: Float64}, {Name: "side", Type: String, Dict: true},
		{Name: "exec_type", Type: String, Dict: true}, {Name: "count", Type: Int64},
	}})

func (e *Fill) WriteRow(w RowWriter) {
	e.writeHeader(w)
	w.String(e.OrdID)
	w.String(e.ClOrdID)
	w.String(e.TradeID)
	w.Float64(e.FillPx)
	w.Float64(e.FillSz)
	w.String(e.Side)
	w.String(e.ExecType)
	w.Int64(e.Count)
}

func (e *Fill) ReadRow(r RowReader) {
	e.readHeader(r)
	e.OrdID = r.String()
	e.ClOrdID = r.String()
	e.TradeID = r.String()
	e.FillPx = r.Float64()
	e.FillSz = r.Float64()
	e.Side = r.String()
	e.ExecType = r.String()
	e.Count = r.Int64()
}

// Balance is one currency of an account push (account channel details[], or balance_and_position balData[]).
// InstID holds the currency; TotalEq is the account total from the same push (NaN when not given).
type Balance struct {
	Header
	Eq        float64
	CashBal   float64
	AvailBal  float64
	FrozenBal float64
	Upl       float64
	EqUsd     float64
	TotalEq   float64
	EventType string // snapshot | event_update | balance_and_position eventType
}

func (*Balance) Kind() Kind { return KindBalance }

// BalanceTable stores balances.
var BalanceTable = register(&Table{Name: "balances", Key: []string{"inst_id", "channel", "ts", "event_type"}, Kind: KindBalance, New: func() Stored { return new(Balance) },
	Columns: []Column{
		{Name: "eq", Type: Float64}, {Name: "cash_bal", Type: Float64}, {Name: "avail_bal", Type: Float64},
		{Name: "frozen_bal", Type: Float64}, {Name: "upl", Type: Float64}, {Name: "eq_usd", Type: Float64},
		{Name: "total_eq", Type: Float64}, {Name: "event_type", Type: String, Dict: true},
	}})

func (e *Balance) WriteRow(w RowWriter) {
	e.writeHeader(w)
	for _, v := range [...]float64{e.Eq, e.CashBal, e.AvailBal, e.FrozenBal, e.Upl, e.EqUsd, e.TotalEq} {
		w.Float64(v)
	}
	w.String(e.EventType)
}

func (e *Balance) ReadRow(r RowReader) {
	e.readHeader(r)
	for _, p := range [...]*float64{&e.Eq, &e.CashBal, &e.AvailBal, &e.FrozenBal, &e.Upl, &e.EqUsd, &e.TotalEq} {
		*p = r.Float64()
	}
	e.EventType = r.String()
}

// Position is one entry of the positions channel (or balance_and_position posData[]).
type Position struct {
	Header
	InstType  string
	PosID     string
	PosSide   string
	MgnMode   string
	Pos       float64
	AvgPx     float64
	Upl       float64
	Lever     float64
	LiqPx     float64
	MarkPx    float64
	Margin    float64
	Ccy       string
	CTime     int64
	UTime     int64
	EventType string
}

func (*Position) Kind() Kind { return KindPosition }

// PositionTable stores positions.
var PositionTable = register(&Table{Name: "positions", Key: []string{"inst_id", "channel", "pos_id", "pos_side", "u_time", "event_type"}, Kind: KindPosition, New: func() Stored { return new(Position) },
	Columns: []Column{
		{Name: "inst_type", Type: String, Dict: true}, {Name: "pos_id", Type: String},
		{Name: "pos_side", Type: String, Dict: true}, {Name: "mgn_mode", Type: String, Dict: true},
		{Name: "pos", Type: Float64}, {Name: "avg_px", Type: Float64}, {Name: "upl", Type: Float64},
		{Name: "lever", Type: Float64}, {Name: "liq_px", Type: Float64}, {Name: "mark_px", Type: Float64},
		{Name: "margin", Type: Float64}, {Name: "ccy", Type: String, Dict: true},
		{Name: "c_time", Type: TimeMs}, {Name: "u_time", Type: TimeMs}, {Name: "event_type", Type: String, Dict: true},
	}})

func (e *Position) WriteRow(w RowWriter) {
	e.writeHeader(w)
	w.String(e.InstType)
	w.String(e.PosID)
	w.String(e.PosSide)
	w.String(e.MgnMode)
	for _, v := range [...]float64{e.Pos, e.AvgPx, e.Upl, e.Lever, e.LiqPx, e.MarkPx, e.Margin} {
		w.Float64(v)
	}
	w.String(e.Ccy)
	w.Int64(e.CTime)
	w.Int64(e.UTime)
	w.String(e.EventType)
}

func (e *Position) ReadRow(r RowReader) {
	e.readHeader(r)
	e.InstType = r.String()
	e.PosID = r.String()
	e.PosSide = r.String()
	e.MgnMode = r.String()
	for _, p := range [...]*float64{&e.Pos, &e.AvgPx, &e.Upl, &e.Lever, &e.LiqPx, &e.MarkPx, &e.Margin} {
		*p = r.Float64()
	}
	e.Ccy = r.String()
	e.CTime = r.Int64()
	e.UTime = r.Int64()
	e.EventType = r.String()
}
