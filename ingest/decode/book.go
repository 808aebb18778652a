package decode

import "github.com/okxtape/okxtape/schema"

// books decodes depth-channel elements. act is the envelope's action ("snapshot" for books5/bbo-tbt, which
// have none). SeqID, PrevSeqID and Checksum are as received, 0 when absent (so a pre-2023 snapshot without
// prevSeqId has PrevSeqID 0; Action still says snapshot). Level slices and BookRaw are reused.
func (d *Decoder) books(s *scanner, h schema.Header, act string, emit func(schema.Event)) int {
	b := &d.book
	return d.each(s, b, emit, func() {
		s.book(b, &d.raw, h, act, &d.in)
	})
}

// book decodes one book object (positioned after its '{') into b and raw, reusing their slices.
func (s *scanner) book(b *schema.Book, raw *BookRaw, h schema.Header, act string, in *interner) {
	b.Header = h
	b.Action = act
	b.SeqID, b.PrevSeqID, b.Checksum = 0, 0, 0
	b.Bids, b.Asks = b.Bids[:0], b.Asks[:0]
	raw.Bids, raw.Asks = raw.Bids[:0], raw.Asks[:0]
	for j := 0; s.more('}', j); j++ {
		switch string(s.key()) {
		case "asks":
			b.Asks, raw.Asks = s.levels(b.Asks, raw.Asks)
		case "bids":
			b.Bids, raw.Bids = s.levels(b.Bids, raw.Bids)
		case "ts":
			b.Ts = s.int(0)
		case "seqId":
			b.SeqID = s.int(0)
		case "prevSeqId":
			b.PrevSeqID = s.int(0)
		case "checksum":
			b.Checksum = s.int(0)
		case "instId":
			b.InstID = s.text(in)
		default:
			s.skip()
		}
	}
	if b.Action == "" && b.PrevSeqID == -1 {
		b.Action = schema.ActionSnapshot
	}
}

// levels decodes an array of levels [px, sz, "0", numOrders] (at least [px, sz]), appending to lv[:0] and
// raw[:0]. null gives no levels.
func (s *scanner) levels(lv []schema.Level, raw []RawLevel) ([]schema.Level, []RawLevel) {
	lv, raw = lv[:0], raw[:0]
	if s.peek() == 'n' {
		s.scalar()
		return lv, raw
	}
	if !s.open('[') {
		return lv, raw
	}
	for i := 0; s.more(']', i); i++ {
		if !s.open('[') {
			break
		}
		var l schema.Level
		var r RawLevel
		j := 0
		for ; s.more(']', j); j++ {
			switch j {
			case 0:
				r.Px, l.Px = s.number()
			case 1:
				r.Sz, l.Sz = s.number()
			case 3:
				l.Orders = s.int(0)
			default:
				s.skip()
			}
		}
		if s.bad {
			break
		}
		if j < 2 {
			s.fail("book level with fewer than 2 elements")
			break
		}
		lv = append(lv, l)
		raw = append(raw, r)
	}
	return lv, raw
}
