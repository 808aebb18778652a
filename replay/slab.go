package replay

import (
	"slices"

	"github.com/okxtape/okxtape/schema"
)

// slab holds the rows of one loaded part by value, so that keeping a row costs a struct copy and no
// allocation; slabs are reused from part to part.
type slab interface {
	reset()
	// grow makes room for n more rows.
	grow(n int)
	// add copies e (a reused event of the slab's kind) into the slab.
	add(e schema.Stored)
	len() int
	// at returns the i-th row; valid until the next reset, and only once the part is fully loaded.
	at(i int) schema.Stored
}

// valueSlab stores rows of a kind whose struct holds no slices, so a plain copy is a deep copy. Strings are
// immutable and may be shared with the reader.
type valueSlab[T any, P interface {
	*T
	schema.Stored
}] struct {
	rows []T
}

func (s *valueSlab[T, P]) reset()                 { s.rows = s.rows[:0] }
func (s *valueSlab[T, P]) grow(n int)             { s.rows = slices.Grow(s.rows, n) }
func (s *valueSlab[T, P]) add(e schema.Stored)    { s.rows = append(s.rows, *e.(P)) }
func (s *valueSlab[T, P]) len() int               { return len(s.rows) }
func (s *valueSlab[T, P]) at(i int) schema.Stored { return P(&s.rows[i]) }

// bookSlab stores book messages; their levels are copied into one flat arena shared by the part's rows
// (each row's Bids and Asks are capped sub-slices of it), so a reused slab allocates nothing per row once
// the arena has grown to the size of a part. A full arena is replaced, not grown: rows already added keep
// pointing at the old one, which stays valid until the slab is reset.
type bookSlab struct {
	rows  []schema.Book
	n     int
	arena []schema.Level
}

func (s *bookSlab) reset()     { s.n, s.arena = 0, s.arena[:0] }
func (s *bookSlab) grow(n int) {}
func (s *bookSlab) len() int   { return s.n }
func (s *bookSlab) add(e schema.Stored) {
	src := e.(*schema.Book)
	if s.n == len(s.rows) {
		s.rows = append(s.rows, schema.Book{})
	}
	dst := &s.rows[s.n]
	s.n++
	if need := len(src.Bids) + len(src.Asks); len(s.arena)+need > cap(s.arena) {
		s.arena = make([]schema.Level, 0, max(2*cap(s.arena), need, 4096))
	}
	lo := len(s.arena)
	s.arena = append(append(s.arena, src.Bids...), src.Asks...)
	mid, hi := lo+len(src.Bids), len(s.arena)
	// A literal of the exported fields: the reader's private scratch buffers are not shared.
	*dst = schema.Book{Header: src.Header, Action: src.Action, SeqID: src.SeqID, PrevSeqID: src.PrevSeqID,
		Checksum: src.Checksum, Bids: s.arena[lo:mid:mid], Asks: s.arena[mid:hi:hi]}
}
func (s *bookSlab) at(i int) schema.Stored { return &s.rows[i] }

// newSlab returns an empty slab for rows of kind k.
func newSlab(k schema.Kind) slab {
	switch k {
	case schema.KindTicker:
		return &valueSlab[schema.Ticker, *schema.Ticker]{}
	case schema.KindTrade:
		return &valueSlab[schema.Trade, *schema.Trade]{}
	case schema.KindCandle:
		return &valueSlab[schema.Candle, *schema.Candle]{}
	case schema.KindFundingRate:
		return &valueSlab[schema.FundingRate, *schema.FundingRate]{}
	case schema.KindMarkPrice:
		return &valueSlab[schema.MarkPrice, *schema.MarkPrice]{}
	case schema.KindIndexTicker:
		return &valueSlab[schema.IndexTicker, *schema.IndexTicker]{}
	case schema.KindOpenInterest:
		return &valueSlab[schema.OpenInterest, *schema.OpenInterest]{}
	case schema.KindBook:
		return &bookSlab{}
	case schema.KindQuote:
		return &valueSlab[schema.Quote, *schema.Quote]{}
	case schema.KindOrder:
		return &valueSlab[schema.Order, *schema.Order]{}
	case schema.KindFill:
		return &valueSlab[schema.Fill, *schema.Fill]{}
	case schema.KindBalance:
		return &valueSlab[schema.Balance, *schema.Balance]{}
	case schema.KindPosition:
		return &valueSlab[schema.Position, *schema.Position]{}
	case schema.KindGap:
		return &valueSlab[schema.Gap, *schema.Gap]{}
	case schema.KindRaw:
		return &valueSlab[schema.Raw, *schema.Raw]{}
	case schema.KindSession:
		return &valueSlab[schema.Session, *schema.Session]{}
	}
	return &cloneSlab{}
}

// cloneSlab is the fallback for kinds without a dedicated slab: one schema.Clone per row.
type cloneSlab struct{ rows []schema.Stored }

func (s *cloneSlab) reset()                 { clear(s.rows); s.rows = s.rows[:0] }
func (s *cloneSlab) grow(n int)             { s.rows = slices.Grow(s.rows, n) }
func (s *cloneSlab) add(e schema.Stored)    { s.rows = append(s.rows, schema.Clone(e)) }
func (s *cloneSlab) len() int               { return len(s.rows) }
func (s *cloneSlab) at(i int) schema.Stored { return s.rows[i] }
