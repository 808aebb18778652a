package schema

// Level is one price level of an order book. In a BookUpdate a level with Sz == 0 deletes that price.
type Level struct {
	Px     float64
	Sz     float64
	Orders int64
}

// Book actions.
const (
	ActionSnapshot = "snapshot"
	ActionUpdate   = "update"
)

// Book is one message of a depth channel (books, books5, bbo-tbt, books-l2-tbt, books50-l2-tbt): a full
// snapshot or an incremental update, exactly as received (levels in received order, seqIds and checksum as
// received). books5 and bbo-tbt messages are snapshots with PrevSeqID 0. Only messages that passed sequence
// and checksum validation are dispatched.
//
// Stored one row per message with the levels in parallel arrays: a message is OKX's unit of sequence and
// checksum, so one row keeps it atomic and replay rebuilds the book from rows in seq order; SQL gets a
// per-level view with ARRAY JOIN (see docs/sql.md).
type Book struct {
	Header
	Action    string // ActionSnapshot or ActionUpdate
	SeqID     int64
	PrevSeqID int64 // -1 for snapshots of incremental channels
	Checksum  int64 // signed 32-bit CRC as received (0 = not provided)
	Bids      []Level
	Asks      []Level

	scratchF []float64
	scratchI []int64
}

func (*Book) Kind() Kind { return KindBook }

// BookTable stores book messages.
var BookTable = register(&Table{Name: "books", Key: []string{"inst_id", "channel", "ts", "seq_id", "prev_seq_id", "action", "checksum"}, Kind: KindBook, New: func() Stored { return new(Book) },
	Columns: []Column{
		{Name: "action", Type: String, Dict: true}, {Name: "seq_id", Type: Int64},
		{Name: "prev_seq_id", Type: Int64}, {Name: "checksum", Type: Int64},
		{Name: "bid_px", Type: Float64List}, {Name: "bid_sz", Type: Float64List}, {Name: "bid_n", Type: Int64List},
		{Name: "ask_px", Type: Float64List}, {Name: "ask_sz", Type: Float64List}, {Name: "ask_n", Type: Int64List},
	}})

func (e *Book) writeSide(w RowWriter, lv []Level) {
	f := e.scratchF[:0]
	for _, l := range lv {
		f = append(f, l.Px)
	}
	w.Float64s(f)
	f = f[:0]
	for _, l := range lv {
		f = append(f, l.Sz)
	}
	w.Float64s(f)
	e.scratchF = f
	n := e.scratchI[:0]
	for _, l := range lv {
		n = append(n, l.Orders)
	}
	w.Int64s(n)
	e.scratchI = n
}

func (e *Book) WriteRow(w RowWriter) {
	e.writeHeader(w)
	w.String(e.Action)
	w.Int64(e.SeqID)
	w.Int64(e.PrevSeqID)
	w.Int64(e.Checksum)
	e.writeSide(w, e.Bids)
	e.writeSide(w, e.Asks)
}

func (e *Book) readSide(r RowReader, lv []Level) []Level {
	px := r.Float64s(e.scratchF[:0])
	lv = lv[:0]
	for _, p := range px {
		lv = append(lv, Level{Px: p})
	}
	sz := r.Float64s(px[:0])
	for i := 0; i < len(sz) && i < len(lv); i++ {
		lv[i].Sz = sz[i]
	}
	e.scratchF = sz
	n := r.Int64s(e.scratchI[:0])
	for i := 0; i < len(n) && i < len(lv); i++ {
		lv[i].Orders = n[i]
	}
	e.scratchI = n
	return lv
}

// LevelReader is a RowReader that reads one book side's three level columns (prices, sizes, order counts)
// in one call, appending to dst[:0] one Level per price (sizes and counts past the prices' length are
// dropped, missing ones are 0). Book.ReadRow uses it when its reader has it.
type LevelReader interface {
	Levels(dst []Level) []Level
}

func (e *Book) ReadRow(r RowReader) {
	e.readHeader(r)
	e.Action = r.String()
	e.SeqID = r.Int64()
	e.PrevSeqID = r.Int64()
	e.Checksum = r.Int64()
	if lr, ok := r.(LevelReader); ok {
		e.Bids = lr.Levels(e.Bids)
		e.Asks = lr.Levels(e.Asks)
		return
	}
	e.Bids = e.readSide(r, e.Bids)
	e.Asks = e.readSide(r, e.Asks)
}

// Clone returns a deep copy that the caller owns.
func (e *Book) Clone() *Book {
	c := *e
	c.Bids = append([]Level(nil), e.Bids...)
	c.Asks = append([]Level(nil), e.Asks...)
	c.scratchF, c.scratchI = nil, nil
	return &c
}

// Quote is the top of a validated local book after a book message was applied: the event strategies use
// for best bid/ask without keeping a book. Channel is the source depth channel, SeqID the message's seqId.
// A side with no levels has NaN price and 0 size.
type Quote struct {
	Header
	SeqID int64
	BidPx float64
	BidSz float64
	AskPx float64
	AskSz float64
}

func (*Quote) Kind() Kind { return KindQuote }

// QuoteTable stores derived top-of-book quotes.
var QuoteTable = register(&Table{Name: "quotes", Key: []string{"inst_id", "channel", "ts", "seq_id"}, Kind: KindQuote, New: func() Stored { return new(Quote) },
	Columns: []Column{
		{Name: "seq_id", Type: Int64}, {Name: "bid_px", Type: Float64}, {Name: "bid_sz", Type: Float64},
		{Name: "ask_px", Type: Float64}, {Name: "ask_sz", Type: Float64},
	}})

func (e *Quote) WriteRow(w RowWriter) {
	e.writeHeader(w)
	w.Int64(e.SeqID)
	w.Float64(e.BidPx)
	w.Float64(e.BidSz)
	w.Float64(e.AskPx)
	w.Float64(e.AskSz)
}

func (e *Quote) ReadRow(r RowReader) {
	e.readHeader(r)
	e.SeqID = r.Int64()
	e.BidPx = r.Float64()
	e.BidSz = r.Float64()
	e.AskPx = r.Float64()
	e.AskSz = r.Float64()
}
