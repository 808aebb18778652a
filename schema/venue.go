package schema

// Events about the venue itself: the instruments channel (listings, delistings, parameter changes) and the
// status channel (maintenance notices).

// Instrument is one entry of the instruments channel (and of REST GET /api/v5/public/instruments): the
// instrument's parameters and state. Numbers are NaN and times 0 when OKX sends "" (ctVal for SPOT, expTime
// for perpetuals). The channel carries no exchange time, so Header.Ts is the receive time in ms (replay keeps
// the stored value, so it is stable from then on).
type Instrument struct {
	Header
	InstType   string // SPOT, MARGIN, SWAP, FUTURES, OPTION, EVENTS
	InstFamily string
	Uly        string
	BaseCcy    string
	QuoteCcy   string
	SettleCcy  string
	CtType     string // linear, inverse
	CtValCcy   string
	State      string // live, suspend, preopen, expired, ...
	RuleType   string
	CtVal      float64
	CtMult     float64
	TickSz     float64
	LotSz      float64
	MinSz      float64
	Lever      float64
	ListTime   int64 // ms
	ExpTime    int64 // ms
}

func (*Instrument) Kind() Kind { return KindInstrument }

// InstrumentTable stores instrument pushes. Its key is the instrument's state without Ts (a receive time): two
// recorders' copies of one state are one event.
var InstrumentTable = register(&Table{Name: "instruments", Key: []string{"inst_id", "channel", ValuesKey}, Kind: KindInstrument,
	New: func() Stored { return new(Instrument) },
	Columns: []Column{
		{Name: "inst_type", Type: String, Dict: true}, {Name: "inst_family", Type: String, Dict: true},
		{Name: "uly", Type: String, Dict: true}, {Name: "base_ccy", Type: String, Dict: true},
		{Name: "quote_ccy", Type: String, Dict: true}, {Name: "settle_ccy", Type: String, Dict: true},
		{Name: "ct_type", Type: String, Dict: true}, {Name: "ct_val_ccy", Type: String, Dict: true},
		{Name: "state", Type: String, Dict: true}, {Name: "rule_type", Type: String, Dict: true},
		{Name: "ct_val", Type: Float64}, {Name: "ct_mult", Type: Float64}, {Name: "tick_sz", Type: Float64},
		{Name: "lot_sz", Type: Float64}, {Name: "min_sz", Type: Float64}, {Name: "lever", Type: Float64},
		{Name: "list_time", Type: TimeMs}, {Name: "exp_time", Type: TimeMs},
	}})

func (e *Instrument) strs() [10]*string {
	return [...]*string{&e.InstType, &e.InstFamily, &e.Uly, &e.BaseCcy, &e.QuoteCcy, &e.SettleCcy, &e.CtType,
		&e.CtValCcy, &e.State, &e.RuleType}
}

func (e *Instrument) floats() [6]*float64 {
	return [...]*float64{&e.CtVal, &e.CtMult, &e.TickSz, &e.LotSz, &e.MinSz, &e.Lever}
}

func (e *Instrument) WriteRow(w RowWriter) {
	e.writeHeader(w)
	for _, p := range e.strs() {
		w.String(*p)
	}
	for _, p := range e.floats() {
		w.Float64(*p)
	}
	w.Int64(e.ListTime)
	w.Int64(e.ExpTime)
}

func (e *Instrument) ReadRow(r RowReader) {
	e.readHeader(r)
	for _, p := range e.strs() {
		*p = r.String()
	}
	for _, p := range e.floats() {
		*p = r.Float64()
	}
	e.ListTime = r.Int64()
	e.ExpTime = r.Int64()
}

// Status is one entry of the status channel: a scheduled or ongoing maintenance (InstID is empty). Outages
// shorter than 5 s and WebSocket flash disconnects are not announced by OKX.
type Status struct {
	Header
	Title        string
	State        string // scheduled, ongoing, pre_open, completed, canceled
	BeginTime    int64  // ms
	EndTime      int64  // ms
	PreOpenBegin int64  // ms, 0 when absent
	Href         string
	ServiceType  string // "0" WebSocket, "5" trading, ...
	System       string // unified, ...
	ScheDesc     string
}

func (*Status) Kind() Kind { return KindStatus }

// StatusTable stores maintenance notices, keyed by their content (a notice repeated unchanged is one event).
var StatusTable = register(&Table{Name: "status", Key: []string{"inst_id", "channel", ValuesKey}, Kind: KindStatus, New: func() Stored { return new(Status) },
	Columns: []Column{
		{Name: "title", Type: String}, {Name: "state", Type: String, Dict: true},
		{Name: "begin_time", Type: TimeMs}, {Name: "end_time", Type: TimeMs}, {Name: "pre_open_begin", Type: TimeMs},
		{Name: "href", Type: String}, {Name: "service_type", Type: String, Dict: true},
		{Name: "system", Type: String, Dict: true}, {Name: "sche_desc", Type: String},
	}})

func (e *Status) WriteRow(w RowWriter) {
	e.writeHeader(w)
	w.String(e.Title)
	w.String(e.State)
	w.Int64(e.BeginTime)
	w.Int64(e.EndTime)
	w.Int64(e.PreOpenBegin)
	for _, v := range [...]string{e.Href, e.ServiceType, e.System, e.ScheDesc} {
		w.String(v)
	}
}

func (e *Status) ReadRow(r RowReader) {
	e.readHeader(r)
	e.Title = r.String()
	e.State = r.String()
	e.BeginTime = r.Int64()
	e.EndTime = r.Int64()
	e.PreOpenBegin = r.Int64()
	for _, p := range [...]*string{&e.Href, &e.ServiceType, &e.System, &e.ScheDesc} {
		*p = r.String()
	}
}
