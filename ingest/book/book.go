// Package book maintains validated local OKX order books from depth-channel messages and ledgers every break.
package book

import (
	"math"
	"strconv"

	"github.com/okxtape/okxtape/ingest/decode"
	"github.com/okxtape/okxtape/schema"
)

// Level is one price level of a local Book. Px and Sz are the parsed values; the price and size strings as
// received live in the book's arena (see Book.Raw) and feed the checksum.
type Level struct {
	Px     float64
	Sz     float64
	Orders int64

	pxOff, szOff uint32
	pxLen, szLen uint16
}

// Book is a local order book for one (channel, instId): bids best (highest) first, asks best (lowest) first.
//
// Levels are kept in sorted slices (binary search, in-place insert/delete); the received price and size
// strings are copied into an append-only byte arena that is compacted when it outgrows the live data, so
// applying an update allocates nothing once the slices and the arena have reached their working size.
//
// A Book is not safe for concurrent use. Slices and byte slices returned by its accessors alias its storage
// and are valid until the next Apply or Reset. The zero value is an empty book with no depth limit.
type Book struct {
	// MaxLevels, when > 0, bounds each side: after every apply the worst levels beyond it are dropped. OKX
	// does not say whether it deletes levels that fall out of its 400-level window, so keep this well above
	// the channel depth; only the top 25 levels take part in the checksum.
	MaxLevels int

	bids, asks []Level
	arena      []byte // received px/sz strings
	spare      []byte // compaction target, swapped with arena
	limit      int    // compact when len(arena) exceeds this
	ck         []byte // checksum string buffer
}

const minArena = 16 << 10

// Reset empties the book, keeping its storage.
func (b *Book) Reset() {
	b.bids, b.asks, b.arena = b.bids[:0], b.asks[:0], b.arena[:0]
}

// Bids returns all bid levels, best first.
func (b *Book) Bids() []Level { return b.bids }

// Asks returns all ask levels, best first.
func (b *Book) Asks() []Level { return b.asks }

// Top returns at most n levels of each side, best first.
func (b *Book) Top(n int) (bids, asks []Level) {
	n = max(n, 0)
	return b.bids[:min(n, len(b.bids))], b.asks[:min(n, len(b.asks))]
}

// BestBid returns the highest bid, if any.
func (b *Book) BestBid() (Level, bool) {
	if len(b.bids) == 0 {
		return Level{}, false
	}
	return b.bids[0], true
}

// BestAsk returns the lowest ask, if any.
func (b *Book) BestAsk() (Level, bool) {
	if len(b.asks) == 0 {
		return Level{}, false
	}
	return b.asks[0], true
}

// Crossed reports a best bid at or above the best ask (both sides present).
func (b *Book) Crossed() bool {
	return len(b.bids) > 0 && len(b.asks) > 0 && b.bids[0].Px >= b.asks[0].Px
}

// Raw returns the price and size strings of a level of this book as received (read-only).
func (b *Book) Raw(l Level) (px, sz []byte) {
	return b.str(l.pxOff, l.pxLen), b.str(l.szOff, l.szLen)
}

func (b *Book) str(off uint32, n uint16) []byte {
	end := int(off) + int(n)
	if end > len(b.arena) {
		return nil
	}
	return b.arena[off:end:end]
}

// ApplySnapshot replaces the book with the given levels. raw holds the received strings index-aligned with
// bids and asks; when raw is nil or a level has no string, the value is formatted from the float (the
// checksum then only matches if OKX spelled it the same way). Levels with size 0 or non-finite values are
// skipped; unsorted or repeated prices are tolerated (the last one wins).
func (b *Book) ApplySnapshot(bids, asks []schema.Level, raw *decode.BookRaw) {
	b.Reset()
	var rb, ra []decode.RawLevel
	if raw != nil {
		rb, ra = raw.Bids, raw.Asks
	}
	b.bids = b.fill(b.bids, bids, rb, true)
	b.asks = b.fill(b.asks, asks, ra, false)
	b.finish()
}

func (b *Book) fill(dst []Level, src []schema.Level, raw []decode.RawLevel, desc bool) []Level {
	for i := range src {
		l := &src[i]
		if l.Sz == 0 || !valid(l) {
			continue
		}
		if n := len(dst); n == 0 || better(dst[n-1].Px, l.Px, desc) {
			dst = append(dst, b.level(l, rawAt(raw, i)))
			continue
		}
		dst = b.upsert(dst, l, rawAt(raw, i), desc)
	}
	return dst
}

// ApplyUpdate applies an incremental update: a level with size 0 deletes its price (absent prices are
// ignored), any other level replaces or inserts its price. raw is as for ApplySnapshot.
func (b *Book) ApplyUpdate(bids, asks []schema.Level, raw *decode.BookRaw) {
	var rb, ra []decode.RawLevel
	if raw != nil {
		rb, ra = raw.Bids, raw.Asks
	}
	b.bids = b.update(b.bids, bids, rb, true)
	b.asks = b.update(b.asks, asks, ra, false)
	b.finish()
}

func (b *Book) update(dst []Level, src []schema.Level, raw []decode.RawLevel, desc bool) []Level {
	for i := range src {
		l := &src[i]
		if !valid(l) {
			continue
		}
		if l.Sz == 0 {
			if j, ok := find(dst, l.Px, desc); ok {
				dst = append(dst[:j], dst[j+1:]...)
			}
			continue
		}
		dst = b.upsert(dst, l, rawAt(raw, i), desc)
	}
	return dst
}

func (b *Book) upsert(dst []Level, l *schema.Level, r *decode.RawLevel, desc bool) []Level {
	j, ok := find(dst, l.Px, desc)
	if ok {
		d := &dst[j]
		d.Sz, d.Orders = l.Sz, l.Orders
		var sz []byte
		if r != nil {
			sz = r.Sz
		}
		d.szOff, d.szLen = b.put(sz, l.Sz)
		return dst
	}
	dst = append(dst, Level{})
	copy(dst[j+1:], dst[j:])
	dst[j] = b.level(l, r)
	return dst
}

func (b *Book) level(l *schema.Level, r *decode.RawLevel) Level {
	var px, sz []byte
	if r != nil {
		px, sz = r.Px, r.Sz
	}
	n := Level{Px: l.Px, Sz: l.Sz, Orders: l.Orders}
	n.pxOff, n.pxLen = b.put(px, l.Px)
	n.szOff, n.szLen = b.put(sz, l.Sz)
	return n
}

// put copies s (or, when empty, v formatted) into the arena.
func (b *Book) put(s []byte, v float64) (uint32, uint16) {
	off := len(b.arena)
	if len(s) == 0 {
		b.arena = strconv.AppendFloat(b.arena, v, 'f', -1, 64)
	} else {
		b.arena = append(b.arena, s[:min(len(s), math.MaxUint16)]...)
	}
	return uint32(off), uint16(len(b.arena) - off)
}

// finish trims to MaxLevels and compacts the arena when most of it is garbage.
func (b *Book) finish() {
	if m := b.MaxLevels; m > 0 {
		b.bids, b.asks = b.bids[:min(m, len(b.bids))], b.asks[:min(m, len(b.asks))]
	}
	if b.limit < minArena {
		b.limit = minArena
	}
	if len(b.arena) <= b.limit {
		return
	}
	out := b.spare[:0]
	for _, side := range [2][]Level{b.bids, b.asks} {
		for i := range side {
			l := &side[i]
			px, sz := b.Raw(*l)
			l.pxOff = uint32(len(out))
			out = append(out, px...)
			l.szOff = uint32(len(out))
			out = append(out, sz...)
		}
	}
	b.spare, b.arena = b.arena[:0], out
	b.limit = max(2*len(out), minArena)
}

func rawAt(raw []decode.RawLevel, i int) *decode.RawLevel {
	if i < len(raw) {
		return &raw[i]
	}
	return nil
}

func valid(l *schema.Level) bool {
	return !math.IsNaN(l.Px) && !math.IsInf(l.Px, 0) && !math.IsNaN(l.Sz) && !math.IsInf(l.Sz, 0) && l.Sz >= 0
}

// better reports whether price a sorts strictly before price p on a side (desc: bids).
func better(a, p float64, desc bool) bool {
	if desc {
		return a > p
	}
	return a < p
}

// find returns the index of px in lv (best first), or where it would be inserted.
func find(lv []Level, px float64, desc bool) (int, bool) {
	lo, hi := 0, len(lv)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if better(lv[mid].Px, px, desc) {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo, lo < len(lv) && lv[lo].Px == px
}
