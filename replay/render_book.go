package replay

import (
	"strconv"

	"github.com/okxtape/okxtape/ingest/book"
	"github.com/okxtape/okxtape/schema/channels"
)

// bookDepth is the number of levels per side a depth channel's snapshot carries (the registry's MaxLevels).
func bookDepth(channel string) int {
	if e := channels.Lookup(channel); e != nil && e.Book != nil && e.Book.MaxLevels > 0 {
		return e.Book.MaxLevels
	}
	return 400
}

// appendBookSnapshot appends the snapshot push OKX sends on subscribing an incremental depth channel, built
// from a rebuilt book: action snapshot, at most depth levels per side with the level strings the book holds
// (as received, or formatted as AppendPush formats them), checksum as given, prevSeqId -1 and seqId seq.
func appendBookSnapshot(buf []byte, id streamID, bk *book.Book, depth int, seq, ts, checksum int64) []byte {
	w := jw{b: buf}
	w.raw(`{"arg":{"channel":`)
	w.str(id.channel)
	w.raw(`,"instId":`)
	w.str(id.inst)
	w.raw(`},"action":"snapshot","data":[{"asks":`)
	bids, asks := bk.Top(depth)
	w.bookLevels(bk, asks)
	w.raw(`,"bids":`)
	w.bookLevels(bk, bids)
	w.kint("ts", ts)
	w.raw(`,"checksum":`)
	w.b = strconv.AppendInt(w.b, checksum, 10)
	w.raw(`,"prevSeqId":-1,"seqId":`)
	w.b = strconv.AppendInt(w.b, seq, 10)
	w.raw(`}]}`)
	return w.b
}

func (w *jw) bookLevels(bk *book.Book, lv []book.Level) {
	w.b = append(w.b, '[')
	for i, l := range lv {
		if i > 0 {
			w.b = append(w.b, ',')
		}
		px, sz := bk.Raw(l)
		w.b = append(w.b, `["`...)
		w.b = append(w.b, px...)
		w.b = append(w.b, `","`...)
		w.b = append(w.b, sz...)
		w.raw(`","0","`)
		w.b = strconv.AppendInt(w.b, l.Orders, 10)
		w.raw(`"]`)
	}
	w.b = append(w.b, ']')
}
