package book

import (
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/okxtape/okxtape/ingest/decode"
	"github.com/okxtape/okxtape/schema"
)

// deepBook returns a 400-level snapshot and a cycle of 10-level deltas (sizes change, some levels are
// deleted and re-inserted) that keep the book at about 400 levels.
func deepBook() (*schema.Book, *decode.BookRaw, []*schema.Book, []*decode.BookRaw) {
	var bids, asks []lv
	for i := range 400 {
		bids = append(bids, lv{strconv.FormatFloat(30000-float64(i)/10, 'f', -1, 64), "1.2345"})
		asks = append(asks, lv{strconv.FormatFloat(30000.1+float64(i)/10, 'f', -1, 64), "0.5"})
	}
	s, sraw := msg("books", "snapshot", -1, 1, 1, bids, asks)
	r := rand.New(rand.NewPCG(7, 8))
	var ups []*schema.Book
	var raws []*decode.BookRaw
	for k := range 64 {
		var ub, ua []lv
		for range 5 {
			i := r.IntN(100) // deltas concentrate near the top, like real streams
			sz := strconv.FormatFloat(float64(r.IntN(99999)+1)/1000, 'f', -1, 64)
			if k%2 == 1 && i%3 == 0 {
				sz = "0"
			}
			ub = append(ub, lv{bids[i][0], sz})
			ua = append(ua, lv{asks[i][0], sz})
		}
		u, raw := msg("books", "update", 0, 0, int64(k), ub, ua)
		ups, raws = append(ups, u), append(raws, raw)
	}
	// Each odd delta deletes some levels; the next even one re-inserts whatever remains deleted.
	for k := 1; k < len(ups); k += 2 {
		next := ups[(k+1)%len(ups)]
		nraw := raws[(k+1)%len(ups)]
		for i, l := range ups[k].Bids {
			if l.Sz == 0 {
				next.Bids = append(next.Bids, schema.Level{Px: l.Px, Sz: 1})
				nraw.Bids = append(nraw.Bids, decode.RawLevel{Px: raws[k].Bids[i].Px, Sz: []byte("1")})
			}
		}
		for i, l := range ups[k].Asks {
			if l.Sz == 0 {
				next.Asks = append(next.Asks, schema.Level{Px: l.Px, Sz: 1})
				nraw.Asks = append(nraw.Asks, decode.RawLevel{Px: raws[k].Asks[i].Px, Sz: []byte("1")})
			}
		}
	}
	return s, sraw, ups, raws
}

// BenchmarkBookSnapshot400 is the baseline: rebuilding the whole 400-level book.
func BenchmarkBookSnapshot400(b *testing.B) {
	s, sraw, _, _ := deepBook()
	var bk Book
	b.ReportAllocs()
	for b.Loop() {
		bk.ApplySnapshot(s.Bids, s.Asks, sraw)
	}
}

// BenchmarkBookUpdate10 applies a 10-level delta to a 400-level book.
func BenchmarkBookUpdate10(b *testing.B) {
	s, sraw, ups, raws := deepBook()
	var bk Book
	bk.ApplySnapshot(s.Bids, s.Asks, sraw)
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		bk.ApplyUpdate(ups[i].Bids, ups[i].Asks, raws[i])
		i = (i + 1) % len(ups)
	}
}

// BenchmarkChecksum400 computes the checksum of a 400-level book.
func BenchmarkChecksum400(b *testing.B) {
	s, sraw, _, _ := deepBook()
	var bk Book
	bk.ApplySnapshot(s.Bids, s.Asks, sraw)
	b.ReportAllocs()
	for b.Loop() {
		Checksum(&bk)
	}
}

// managerPath prepares a manager with a live 400-level book and checksummed deltas.
func managerPath(tb testing.TB) (*Manager, func()) {
	s, sraw, ups, raws := deepBook()
	var shadow Book
	shadow.ApplySnapshot(s.Bids, s.Asks, sraw)
	s.Checksum = int64(Checksum(&shadow))
	sums := make([]int64, len(ups))
	for k := range ups {
		shadow.ApplyUpdate(ups[k].Bids, ups[k].Asks, raws[k])
		sums[k] = int64(Checksum(&shadow))
	}
	emitted := 0
	m := NewManager(Options{Emit: func(schema.Event) { emitted++ }})
	tb.Cleanup(m.Close)
	m.Apply(s, sraw)
	seq, k := int64(1), 0
	step := func() {
		u := ups[k]
		u.PrevSeqID, u.SeqID, u.Checksum = seq, seq+1, sums[k]
		m.Apply(u, raws[k])
		seq++
		if k++; k == len(ups) { // wrap: the cycle ends where it started, so re-snapshot keeps sums valid
			k = 0
			seq++ // a snapshot at the last applied seqId would be dropped as stale
			s.SeqID, s.PrevSeqID = seq, -1
			m.Apply(s, sraw)
		}
	}
	return m, step
}

// BenchmarkManagerApply is the full path: chain check, apply, checksum verify, crossed check, emit Book+Quote.
func BenchmarkManagerApply(b *testing.B) {
	m, step := managerPath(b)
	b.ReportAllocs()
	for b.Loop() {
		step()
	}
	if st := m.Stats(); st.ChecksumFailures != 0 || st.Gaps != 0 {
		b.Fatalf("stats %+v", st)
	}
}

func TestManagerSteadyStateAllocs(t *testing.T) {
	m, step := managerPath(t)
	for range 200 { // warm the arena, slices and quote pool
		step()
	}
	if a := testing.AllocsPerRun(500, step); a != 0 {
		t.Fatalf("%.1f allocs per message, want 0", a)
	}
	if st := m.Stats(); st.ChecksumFailures != 0 || st.Gaps != 0 || st.ChecksumsVerified < 700 {
		t.Fatalf("stats %+v", st)
	}
}
