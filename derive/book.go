package derive

import (
	"math"

	"github.com/okxtape/okxtape/schema"
)

// maxBookLevels bounds each side of a rebuilt book exactly as ingest's book manager does by default
// (book.Options.MaxLevels), so that the top levels of a rebuilt book match the live one even when levels
// fall off the bottom.
const maxBookLevels = 1000

// level is one price level of a rebuilt book.
type level struct{ px, sz float64 }

// book is a float-only local order book: bids best (highest) first, asks best (lowest) first, in sorted
// slices. It applies stored, already validated book messages with the same rules as ingest/book.Book
// (snapshots skip empty and non-finite levels and tolerate repeats, updates delete on size 0 and upsert
// otherwise, each side is trimmed to maxBookLevels); it carries no received strings because checksums were
// verified before the messages were stored. A test replays message streams through both and compares.
type book struct{ bids, asks []level }

func (b *book) reset() { b.bids, b.asks = b.bids[:0], b.asks[:0] }

// snapshot replaces the book.
func (b *book) snapshot(bids, asks []schema.Level) {
	b.reset()
	b.bids = fill(b.bids, bids, true)
	b.asks = fill(b.asks, asks, false)
	b.trim()
}

// update applies an incremental message.
func (b *book) update(bids, asks []schema.Level) {
	b.bids = update(b.bids, bids, true)
	b.asks = update(b.asks, asks, false)
	b.trim()
}

func (b *book) trim() {
	b.bids, b.asks = b.bids[:min(len(b.bids), maxBookLevels)], b.asks[:min(len(b.asks), maxBookLevels)]
}

func fill(dst []level, src []schema.Level, desc bool) []level {
	for i := range src {
		l := &src[i]
		if l.Sz == 0 || !finite(l) {
			continue
		}
		if n := len(dst); n == 0 || better(dst[n-1].px, l.Px, desc) {
			dst = append(dst, level{l.Px, l.Sz})
			continue
		}
		dst = upsert(dst, l, desc)
	}
	return dst
}

func update(dst []level, src []schema.Level, desc bool) []level {
	for i := range src {
		l := &src[i]
		if !finite(l) {
			continue
		}
		if l.Sz == 0 {
			if j, ok := find(dst, l.Px, desc); ok {
				dst = append(dst[:j], dst[j+1:]...)
			}
			continue
		}
		dst = upsert(dst, l, desc)
	}
	return dst
}

func upsert(dst []level, l *schema.Level, desc bool) []level {
	j, ok := find(dst, l.Px, desc)
	if ok {
		dst[j].sz = l.Sz
		return dst
	}
	dst = append(dst, level{})
	copy(dst[j+1:], dst[j:])
	dst[j] = level{l.Px, l.Sz}
	return dst
}

func finite(l *schema.Level) bool {
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
func find(lv []level, px float64, desc bool) (int, bool) {
	lo, hi := 0, len(lv)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if better(lv[mid].px, px, desc) {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo, lo < len(lv) && lv[lo].px == px
}
