package sim

import (
	"hash/crc32"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
)

// level is one price level in integer ticks/lots.
type level struct {
	px, sz int64
	n      int32
}

// side is one sorted side of a book: bids descending (desc), asks ascending.
type side struct {
	desc bool
	lv   []level
}

func (s *side) search(px int64) (int, bool) {
	i := sort.Search(len(s.lv), func(i int) bool {
		if s.desc {
			return s.lv[i].px <= px
		}
		return s.lv[i].px >= px
	})
	return i, i < len(s.lv) && s.lv[i].px == px
}

func (s *side) set(l level) {
	i, ok := s.search(l.px)
	if ok {
		s.lv[i] = l
		return
	}
	s.lv = append(s.lv, level{})
	copy(s.lv[i+1:], s.lv[i:])
	s.lv[i] = l
}

func (s *side) del(px int64) bool {
	i, ok := s.search(px)
	if ok {
		s.lv = append(s.lv[:i], s.lv[i+1:]...)
	}
	return ok
}

func (s *side) top(n int) []level {
	if n > len(s.lv) {
		n = len(s.lv)
	}
	return s.lv[:n]
}

// before reports whether price a sorts before b on this side.
func (s *side) before(a, b int64) bool {
	if s.desc {
		return a > b
	}
	return a < b
}

// market is the shared state of one instrument: its full order book (at most depth levels a side), the
// book's sequence id and the trade tape. Every depth channel of the instrument steps the same book, so all
// channels and connections share one seqId space, and REST snapshots line up with the streams.
type market struct {
	mu     sync.Mutex
	inst   *instrument
	rng    *rand.Rand
	depth  int
	bids   side
	asks   side
	seq    int64
	cross  int64          // price of an injected crossing bid, removed by the next step
	faultN map[string]int // updates per incremental book channel, for Faults (survives resubscribes)
	views  map[*bookView]struct{}
	tape   tape
}

func newMarket(in *instrument, seed int64, idx, depth int) *market {
	m := &market{inst: in, rng: rand.New(rand.NewPCG(uint64(seed), uint64(idx)+1)), depth: depth,
		bids: side{desc: true}, asks: side{}, views: map[*bookView]struct{}{}, faultN: map[string]int{}}
	bid, ask := in.Mid0-1, in.Mid0+1
	for i := 0; i < depth && bid >= 1; i++ {
		m.bids.lv = append(m.bids.lv, level{bid, m.randSz(), m.randN()})
		bid -= 1 + m.rng.Int64N(2)
	}
	for i := 0; i < depth; i++ {
		m.asks.lv = append(m.asks.lv, level{ask, m.randSz(), m.randN()})
		ask += 1 + m.rng.Int64N(2)
	}
	m.seq = 300_000_000_000 + m.rng.Int64N(1_000_000_000)
	m.tape.init(m)
	return m
}

// randSz returns a level size (shapes.go): log-normal around a hundredth of SzHi, within [SzLo, 50*SzHi].
func (m *market) randSz() int64 {
	in := m.inst
	if in.SzHi <= in.SzLo {
		return in.SzLo
	}
	return min(max(LevelSize(m.rng, in.SzHi/100), in.SzLo), 50*in.SzHi)
}

func (m *market) randN() int32 { return Orders(m.rng) }

func (m *market) touch(bid bool, px int64) {
	for v := range m.views {
		if bid {
			v.tb[px] = struct{}{}
		} else {
			v.ta[px] = struct{}{}
		}
	}
}

// step applies a few random changes near the top of the book and advances seq; about one step in eight
// is quiet (no change, seq unchanged), which makes incremental channels send heartbeat updates.
// Caller holds m.mu.
func (m *market) step() {
	if m.cross == 0 && m.rng.IntN(8) == 0 {
		return
	}
	m.change()
}

// change is a step that always changes the book.
func (m *market) change() {
	if m.cross != 0 {
		m.bids.del(m.cross)
		m.touch(true, m.cross)
		m.cross = 0
	}
	for ops := 1 + m.rng.IntN(3); ops > 0; ops-- {
		isBid := m.rng.IntN(2) == 0
		s := &m.asks
		if isBid {
			s = &m.bids
		}
		if len(s.lv) == 0 {
			continue
		}
		k := m.rng.IntN(min(10, len(s.lv)))
		switch r := m.rng.IntN(100); {
		case r < 45: // resize
			s.lv[k].sz, s.lv[k].n = m.randSz(), m.randN()
			m.touch(isBid, s.lv[k].px)
		case r < 70: // new level at or near the top, possibly improving the spread
			off := int64(m.rng.IntN(6) - 1) // -1 improves the best price by a tick, 0..4 joins deeper
			px := s.lv[0].px + off
			if isBid {
				px = s.lv[0].px - off
			}
			if px < 1 || !m.insideSpread(isBid, px) {
				continue
			}
			if _, ok := s.search(px); ok {
				continue
			}
			s.set(level{px, m.randSz(), m.randN()})
			m.touch(isBid, px)
		default: // cancel or sweep: remove a level near the top (k==0: the best one, price moves)
			if len(s.lv) > 1 {
				px := s.lv[k].px
				s.del(px)
				m.touch(isBid, px)
			}
		}
	}
	m.refill(&m.bids, true)
	m.refill(&m.asks, false)
	m.seq++
}

// insideSpread reports whether a new level at px keeps the book uncrossed.
func (m *market) insideSpread(isBid bool, px int64) bool {
	if isBid {
		return len(m.asks.lv) == 0 || px < m.asks.lv[0].px
	}
	return len(m.bids.lv) == 0 || px > m.bids.lv[0].px
}

func (m *market) refill(s *side, isBid bool) {
	for len(s.lv) < m.depth && len(s.lv) > 0 {
		last := s.lv[len(s.lv)-1].px
		px := last + 1 + m.rng.Int64N(2)
		if isBid {
			px = last - 1 - m.rng.Int64N(2)
			if px < 1 {
				break
			}
		}
		s.lv = append(s.lv, level{px, m.randSz(), m.randN()})
		m.touch(isBid, px)
	}
	for len(s.lv) > m.depth {
		px := s.lv[len(s.lv)-1].px
		s.lv = s.lv[:len(s.lv)-1]
		m.touch(isBid, px)
	}
}

// crossBook inserts a bid above the best ask (the book fault "crossed"); the next step removes it.
func (m *market) crossBook() {
	if len(m.asks.lv) == 0 {
		return
	}
	px := m.asks.lv[0].px + 1
	m.bids.set(level{px, m.randSz(), 1})
	m.touch(true, px)
	m.cross = px
}

// bookView is what one incremental channel (books, books-l2-tbt, books50-l2-tbt) of an instrument has sent:
// its top-depth window at seqId last, plus the prices touched since.
type bookView struct {
	depth  int
	bids   side
	asks   side
	tb, ta map[int64]struct{}
	last   int64
}

// attach creates a view of the current book. Caller holds m.mu.
func (m *market) attach(depth int) *bookView {
	v := &bookView{depth: depth, bids: side{desc: true}, asks: side{}, tb: map[int64]struct{}{},
		ta: map[int64]struct{}{}, last: m.seq}
	v.bids.lv = append([]level(nil), m.bids.top(depth)...)
	v.asks.lv = append([]level(nil), m.asks.top(depth)...)
	m.views[v] = struct{}{}
	return v
}

func (m *market) detach(v *bookView) { delete(m.views, v) }

// update returns the level changes that bring v to the current book window (every touched price and every
// price whose windowed value changed; size 0 = delete) and applies them to v. Caller holds m.mu.
func (m *market) update(v *bookView) (bids, asks []level) {
	if m.depth <= v.depth { // the window is the whole book: only touched prices can differ
		bids, asks = touchedSide(&v.bids, &m.bids, v.tb), touchedSide(&v.asks, &m.asks, v.ta)
	} else {
		bids = diffSide(&v.bids, m.bids.top(v.depth), v.tb)
		asks = diffSide(&v.asks, m.asks.top(v.depth), v.ta)
	}
	clear(v.tb)
	clear(v.ta)
	return bids, asks
}

// touchedSide applies the touched prices of book to view and returns them in book order.
func touchedSide(view, book *side, touched map[int64]struct{}) []level {
	out := make([]level, 0, len(touched))
	for px := range touched {
		l := level{px: px}
		if i, ok := book.search(px); ok {
			l = book.lv[i]
		}
		// A price added and removed again since the last message is still sent as a deletion: a client
		// that bootstrapped from a REST snapshot taken in between may hold it.
		if l.sz != 0 {
			view.set(l)
		} else {
			view.del(px)
		}
		out = append(out, l)
	}
	slices.SortFunc(out, func(a, b level) int {
		if view.before(a.px, b.px) {
			return -1
		}
		return 1
	})
	return out
}

func diffSide(old *side, cur []level, touched map[int64]struct{}) []level {
	var out []level
	o := old.lv
	i, j := 0, 0
	for i < len(o) || j < len(cur) {
		switch {
		case j >= len(cur) || (i < len(o) && old.before(o[i].px, cur[j].px)):
			out = append(out, level{px: o[i].px}) // left the window
			i++
		case i >= len(o) || old.before(cur[j].px, o[i].px):
			out = append(out, cur[j]) // entered
			j++
		default:
			if _, t := touched[cur[j].px]; t || o[i] != cur[j] {
				out = append(out, cur[j])
			}
			i++
			j++
		}
	}
	old.lv = append(old.lv[:0], cur...)
	return out
}

// checksumPairs is OKX's (pre-2026-06-23) book checksum: signed CRC32 (IEEE) of
// "bid1px:bid1sz:ask1px:ask1sz:..." over the best 25 levels of each side, using the strings as sent.
func checksumPairs(bids, asks [][2]string) int32 {
	var b []byte
	for i := 0; i < 25; i++ {
		if i < len(bids) {
			b = appendPair(b, bids[i])
		}
		if i < len(asks) {
			b = appendPair(b, asks[i])
		}
	}
	return int32(crc32.ChecksumIEEE(b))
}

func appendPair(b []byte, p [2]string) []byte {
	if len(b) > 0 {
		b = append(b, ':')
	}
	b = append(b, p[0]...)
	b = append(b, ':')
	return append(b, p[1]...)
}

// checksum is checksumPairs over levels, formatted exactly as appendLevels sends them.
func (in *instrument) checksum(bids, asks []level) int32 {
	var buf [2048]byte
	b := buf[:0]
	add := func(l level) {
		if len(b) > 0 {
			b = append(b, ':')
		}
		b = appendFixed(b, l.px, in.TickDec)
		b = append(b, ':')
		b = appendFixed(b, l.sz, in.LotDec)
	}
	for i := 0; i < 25; i++ {
		if i < len(bids) {
			add(bids[i])
		}
		if i < len(asks) {
			add(asks[i])
		}
	}
	return int32(crc32.ChecksumIEEE(b))
}

// appendLevels appends [["px","sz","0","n"],...]; size 0 is written as a deletion ["px","0","0","0"].
func (in *instrument) appendLevels(b []byte, lv []level) []byte {
	return in.appendBookLevels(b, lv, false)
}

// appendBookLevels appends levels; with rpi the third element is the non-RPI part of the size (three
// quarters of it here) instead of the deprecated "0", as books-rpi sends [px, totalQty, nonRpiQty, count].
func (in *instrument) appendBookLevels(b []byte, lv []level, rpi bool) []byte {
	b = append(b, '[')
	for i, l := range lv {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '[', '"')
		b = appendFixed(b, l.px, in.TickDec)
		b = append(b, '"', ',', '"')
		b = appendFixed(b, l.sz, in.LotDec)
		if rpi {
			b = append(b, `","`...)
			b = appendFixed(b, l.sz-l.sz/4, in.LotDec)
			b = append(b, `","`...)
		} else {
			b = append(b, `","0","`...)
		}
		n := int64(l.n)
		if l.sz == 0 {
			n = 0
		}
		b = appendFixed(b, n, 0)
		b = append(b, '"', ']')
	}
	return append(b, ']')
}
