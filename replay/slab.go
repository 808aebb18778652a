package replay

import (
	"slices"

	"github.com/okxtape/okxtape/schema"
)

// slab holds the rows of one loaded part by value, so that keeping a row costs no allocation; slabs are
// reused from part to part. Rows are read straight into their slot (slot, then commit) or copied in (add).
// A committed row stays where it is until reset: a slab that grows moves on to new memory and leaves its
// earlier rows, unchanged, to the entries that point at them.
type slab interface {
	reset()
	// grow makes room for n more rows.
	grow(n int)
	// slot returns the event the next row is read into; it is a row of the slab once commit is called (an
	// uncommitted slot is returned again by the next slot).
	slot() schema.Stored
	commit()
	// add copies e (an event of the slab's kind) into the slab and returns the copy.
	add(e schema.Stored) schema.Stored
	len() int
	// at returns the i-th row; valid until the next reset.
	at(i int) schema.Stored
}

// valueSlab stores rows of a kind whose struct holds no slices, so a plain copy is a deep copy. Strings are
// immutable and may be shared with the reader. rows[n:] are spare slots.
type valueSlab[T any, P interface {
	*T
	schema.Stored
}] struct {
	rows []T
	n    int
}

func (s *valueSlab[T, P]) reset() { s.n = 0 }
func (s *valueSlab[T, P]) grow(n int) {
	if s.n+n > len(s.rows) {
		s.rows = slices.Grow(s.rows[:s.n], n)
		s.rows = s.rows[:cap(s.rows)]
	}
}
func (s *valueSlab[T, P]) slot() schema.Stored {
	if s.n == len(s.rows) {
		s.grow(max(1, s.n))
	}
	return P(&s.rows[s.n])
}
func (s *valueSlab[T, P]) commit() { s.n++ }
func (s *valueSlab[T, P]) add(e schema.Stored) schema.Stored {
	p := s.slot().(P)
	*p = *e.(P)
	s.n++
	return p
}
func (s *valueSlab[T, P]) len() int               { return s.n }
func (s *valueSlab[T, P]) at(i int) schema.Stored { return P(&s.rows[i]) }

// bookSlab stores book messages; their levels go into one flat arena shared by the part's rows (each row's
// Bids and Asks are capped sub-slices of it), so rows and levels stay packed and a reused slab allocates
// nothing per row once the arena has grown to the size of a part. A row is read into its slot with its bids
// in the arena's free tail and its asks in a reused scratch buffer, and commit moves the asks after them. A full arena is replaced, not
// grown: rows already added keep pointing at the old one, which stays valid until the slab is reset.
// rows[n:] are spare slots.
type bookSlab struct {
	rows  []schema.Book
	n     int
	arena []schema.Level
	asks  []schema.Level // the slot's asks before commit (its bids are read into the arena)
}

func (s *bookSlab) reset()     { s.n, s.arena = 0, s.arena[:0] }
func (s *bookSlab) grow(n int) {}
func (s *bookSlab) len() int   { return s.n }
func (s *bookSlab) slot() schema.Stored {
	if s.n == len(s.rows) {
		s.rows = append(s.rows, schema.Book{})
		s.rows = s.rows[:cap(s.rows)]
	}
	if cap(s.arena)-len(s.arena) < slotRoom {
		s.arena = make([]schema.Level, 0, max(2*cap(s.arena), 4096))
	}
	b := &s.rows[s.n]
	// The bids are read straight into the arena's free tail (commit then keeps them there), the asks into
	// scratch; a side too long for the tail is read elsewhere by the reader's append and copied by commit.
	b.Bids, b.Asks = s.arena[len(s.arena):], s.asks[:0]
	return b
}

// slotRoom is the free arena a slot starts with: room for most book messages' bids.
const slotRoom = 512

func (s *bookSlab) commit() {
	b := &s.rows[s.n]
	s.asks = b.Asks[:0] // keep what the reader grew
	lo, nb := len(s.arena), len(b.Bids)
	if nb > 0 && nb <= cap(s.arena)-lo && &b.Bids[0] == &s.arena[:lo+1][lo] { // the bids are in place
		s.arena = s.arena[:lo+nb]
		b.Bids = s.arena[lo : lo+nb : lo+nb]
		b.Asks = s.placeSide(b.Asks)
	} else {
		b.Bids, b.Asks = s.place(b.Bids, b.Asks)
	}
	s.n++
}

// placeSide copies a side into the arena after the last row's and returns it there.
func (s *bookSlab) placeSide(side []schema.Level) []schema.Level {
	if len(s.arena)+len(side) > cap(s.arena) {
		s.arena = make([]schema.Level, 0, max(2*cap(s.arena), len(side), 4096))
	}
	lo := len(s.arena)
	s.arena = append(s.arena, side...)
	return s.arena[lo:len(s.arena):len(s.arena)]
}

// place copies a row's sides into the arena and returns them there.
func (s *bookSlab) place(bids, asks []schema.Level) (b, a []schema.Level) {
	if need := len(bids) + len(asks); len(s.arena)+need > cap(s.arena) {
		s.arena = make([]schema.Level, 0, max(2*cap(s.arena), need, 4096))
	}
	lo := len(s.arena)
	s.arena = append(append(s.arena, bids...), asks...)
	mid, hi := lo+len(bids), len(s.arena)
	return s.arena[lo:mid:mid], s.arena[mid:hi:hi]
}

func (s *bookSlab) add(e schema.Stored) schema.Stored {
	src := e.(*schema.Book)
	if s.n == len(s.rows) {
		s.rows = append(s.rows, schema.Book{})
		s.rows = s.rows[:cap(s.rows)]
	}
	bids, asks := s.place(src.Bids, src.Asks)
	// A literal of the exported fields: the reader's private scratch buffers are not shared.
	s.rows[s.n] = schema.Book{Header: src.Header, Action: src.Action, SeqID: src.SeqID, PrevSeqID: src.PrevSeqID,
		Checksum: src.Checksum, Bids: bids, Asks: asks}
	s.n++
	return &s.rows[s.n-1]
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
	return &cloneSlab{k: k}
}

// cloneSlab is the fallback for kinds without a dedicated slab: one event allocated per row.
type cloneSlab struct {
	k    schema.Kind
	rows []schema.Stored
	next schema.Stored // the uncommitted slot
}

func (s *cloneSlab) reset()     { clear(s.rows); s.rows = s.rows[:0] }
func (s *cloneSlab) grow(n int) { s.rows = slices.Grow(s.rows, n) }
func (s *cloneSlab) slot() schema.Stored {
	if s.next == nil {
		s.next = schema.TableOf(s.k).New()
	}
	return s.next
}
func (s *cloneSlab) commit() { s.rows = append(s.rows, s.next); s.next = nil }
func (s *cloneSlab) add(e schema.Stored) schema.Stored {
	c := schema.Clone(e)
	s.rows = append(s.rows, c)
	return c
}
func (s *cloneSlab) len() int               { return len(s.rows) }
func (s *cloneSlab) at(i int) schema.Stored { return s.rows[i] }
