package book

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/okxtape/okxtape/ingest/decode"
	"github.com/okxtape/okxtape/schema"
)

func sideString(b *Book, l []Level) string {
	s := ""
	for _, x := range l {
		px, sz := b.Raw(x)
		s += string(px) + "/" + string(sz) + " "
	}
	return s
}

func TestBookApply(t *testing.T) {
	var b Book
	s, raw := msg("books", "snapshot", -1, 1, 1, []lv{{"100.4", "1.50"}, {"100.5", "2"}, {"100", "7"}, {"99", "0"}},
		[]lv{{"100.8", "0.25"}, {"100.6", "3"}})
	b.ApplySnapshot(s.Bids, s.Asks, raw)
	if got, want := sideString(&b, b.Bids()), "100.5/2 100.4/1.50 100/7 "; got != want {
		t.Fatalf("bids %q, want %q (sorted, zero size skipped)", got, want)
	}
	if got, want := sideString(&b, b.Asks()), "100.6/3 100.8/0.25 "; got != want {
		t.Fatalf("asks %q, want %q", got, want)
	}
	u, raw := msg("books", "update", 1, 2, 2, []lv{{"100.4", "0"}, {"100.45", "4"}, {"50", "0"}, {"100", "8.0"}},
		[]lv{{"100.7", "1"}, {"100.6", "0"}})
	b.ApplyUpdate(u.Bids, u.Asks, raw)
	if got, want := sideString(&b, b.Bids()), "100.5/2 100.45/4 100/8.0 "; got != want {
		t.Fatalf("bids %q, want %q", got, want)
	}
	if got, want := sideString(&b, b.Asks()), "100.7/1 100.8/0.25 "; got != want {
		t.Fatalf("asks %q, want %q", got, want)
	}
	bids, asks := b.Top(1)
	if len(bids) != 1 || bids[0].Px != 100.5 || len(asks) != 1 || asks[0].Px != 100.7 {
		t.Fatalf("Top(1) = %v %v", bids, asks)
	}
	if bb, ok := b.BestBid(); !ok || bb.Sz != 2 {
		t.Fatalf("BestBid %v %v", bb, ok)
	}
	if b.Crossed() {
		t.Fatal("not crossed")
	}
	x, raw := msg("books", "update", 2, 3, 3, []lv{{"100.7", "1"}}, nil)
	b.ApplyUpdate(x.Bids, x.Asks, raw)
	if !b.Crossed() {
		t.Fatal("bid 100.7 >= ask 100.7 is crossed")
	}
	b.Reset()
	if _, ok := b.BestAsk(); ok || b.Crossed() || Checksum(&b) != 0 {
		t.Fatal("reset book not empty")
	}
}

func TestBookNilRawFormatsFloats(t *testing.T) {
	var b Book
	s, _ := msg("books", "snapshot", -1, 1, 1, []lv{{"3366.1", "7"}, {"3366", "6"}}, []lv{{"3366.8", "9"}, {"3368", "8"}})
	b.ApplySnapshot(s.Bids, s.Asks, nil)
	if got := Checksum(&b); got != -1881014294 {
		t.Fatalf("checksum %d", got)
	}
	// Misaligned raw (fewer strings than levels) falls back per level.
	b.ApplySnapshot(s.Bids, s.Asks, &decode.BookRaw{Bids: []decode.RawLevel{{Px: []byte("3366.1"), Sz: []byte("7")}}})
	if got := Checksum(&b); got != -1881014294 {
		t.Fatalf("checksum with partial raw %d", got)
	}
}

func TestBookMaxLevels(t *testing.T) {
	b := Book{MaxLevels: 2}
	s, raw := msg("books", "snapshot", -1, 1, 1, []lv{{"3", "1"}, {"2", "1"}, {"1", "1"}}, nil)
	b.ApplySnapshot(s.Bids, s.Asks, raw)
	if len(b.Bids()) != 2 || b.Bids()[1].Px != 2 {
		t.Fatalf("bids %v", b.Bids())
	}
}

func TestChecksumVectors(t *testing.T) {
	for _, c := range []struct {
		name       string
		bids, asks []lv
		want       int32
	}{
		{"doc 1", []lv{{"3366.1", "7"}, {"3366", "6"}}, []lv{{"3366.8", "9"}, {"3368", "8"}}, -1881014294},
		{"doc 2", []lv{{"3366.1", "7"}}, []lv{{"3366.8", "9"}, {"3368", "8"}, {"3372", "8"}}, 831078360},
		{"worked snapshot", []lv{{"100.5", "2"}, {"100.4", "1.50"}, {"100", "7"}}, []lv{{"100.6", "3"}, {"100.8", "0.25"}},
			-723288326},
		{"empty", nil, nil, 0},
	} {
		var b Book
		s, raw := msg("books", "snapshot", -1, 1, 1, c.bids, c.asks)
		b.ApplySnapshot(s.Bids, s.Asks, raw)
		if got := Checksum(&b); got != c.want {
			t.Errorf("%s: checksum %d, want %d (string %q)", c.name, got, c.want, b.ck)
		}
	}
	// Worked update example.
	var b Book
	s, raw := msg("books", "snapshot", -1, 1, 1, []lv{{"100.5", "2"}, {"100.4", "1.50"}, {"100", "7"}},
		[]lv{{"100.6", "3"}, {"100.8", "0.25"}})
	b.ApplySnapshot(s.Bids, s.Asks, raw)
	u, raw := msg("books", "update", 1, 2, 2, []lv{{"100.4", "0"}, {"100.45", "4"}}, []lv{{"100.7", "1"}})
	b.ApplyUpdate(u.Bids, u.Asks, raw)
	if got := Checksum(&b); got != -135067040 {
		t.Fatalf("worked update: %d (string %q)", got, b.ck)
	}
	if got, want := string(b.ck), "100.5:2:100.6:3:100.45:4:100.7:1:100:7:100.8:0.25"; got != want {
		t.Fatalf("checksum string %q, want %q", got, want)
	}
}

func TestChecksumTop25(t *testing.T) {
	var b Book
	var bids, asks []lv
	for i := range 40 {
		bids = append(bids, lv{strconv.Itoa(1000 - i), "1"})
		asks = append(asks, lv{strconv.Itoa(2000 + i), "2"})
	}
	s, raw := msg("books", "snapshot", -1, 1, 1, bids, asks[:30])
	b.ApplySnapshot(s.Bids, s.Asks, raw)
	Checksum(&b)
	want := ""
	for i := range 25 {
		want += fmt.Sprintf("%d:1:%d:2:", 1000-i, 2000+i)
	}
	if got := string(b.ck); got != want[:len(want)-1] {
		t.Fatalf("string %q", got)
	}
}

// TestArenaCompaction churns a book through many compactions and compares with a freshly built one.
func TestArenaCompaction(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var b Book
	s, raw := msg("books", "snapshot", -1, 1, 1, genSide(r, 400, 1000, -1), genSide(r, 400, 1001, 1))
	b.ApplySnapshot(s.Bids, s.Asks, raw)
	for range 3000 {
		u, raw := msg("books", "update", 1, 2, 2, genSide(r, 10, 1000, -1), genSide(r, 10, 1001, 1))
		b.ApplyUpdate(u.Bids, u.Asks, raw)
	}
	var fresh Book
	fresh.ApplySnapshot(toLevels(b.Bids()), toLevels(b.Asks()), rawOf(&b))
	if Checksum(&b) != Checksum(&fresh) || string(b.ck) != string(fresh.ck) {
		t.Fatalf("checksum after churn differs: %q vs %q", b.ck, fresh.ck)
	}
	if len(b.arena) > 4*minArena && len(b.arena) > 3*len(fresh.arena) {
		t.Fatalf("arena not compacted: %d bytes for %d live", len(b.arena), len(fresh.arena))
	}
}

func toLevels(l []Level) []schema.Level {
	out := make([]schema.Level, len(l))
	for i, x := range l {
		out[i] = schema.Level{Px: x.Px, Sz: x.Sz, Orders: x.Orders}
	}
	return out
}

// genSide returns n random levels around mid (dir -1: below, bids; +1: above, asks), ~20% deletions.
func genSide(r *rand.Rand, n int, mid float64, dir float64) []lv {
	out := make([]lv, 0, n)
	for range n {
		px := mid + dir*float64(r.IntN(600))/10
		sz := "0"
		if r.IntN(5) != 0 {
			sz = strconv.FormatFloat(float64(r.IntN(100000))/1000, 'f', -1, 64)
			if sz == "0" {
				sz = "1"
			}
		}
		out = append(out, lv{strconv.FormatFloat(px, 'f', -1, 64), sz})
	}
	return out
}
