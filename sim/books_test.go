package sim

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"testing"
	"time"
)

func TestChecksumPublishedVectors(t *testing.T) {
	tests := []struct {
		name       string
		bids, asks [][2]string
		want       int32
	}{
		{"doc 1", [][2]string{{"3366.1", "7"}, {"3366", "6"}}, [][2]string{{"3366.8", "9"}, {"3368", "8"}}, -1881014294},
		{"doc 2 uneven sides", [][2]string{{"3366.1", "7"}}, [][2]string{{"3366.8", "9"}, {"3368", "8"}, {"3372", "8"}}, 831078360},
		{"worked snapshot", [][2]string{{"100.5", "2"}, {"100.4", "1.50"}, {"100", "7"}}, [][2]string{{"100.6", "3"}, {"100.8", "0.25"}}, -723288326},
		{"worked update", [][2]string{{"100.5", "2"}, {"100.45", "4"}, {"100", "7"}}, [][2]string{{"100.6", "3"}, {"100.7", "1"}, {"100.8", "0.25"}}, -135067040},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := checksumPairs(tc.bids, tc.asks); got != tc.want {
				t.Fatalf("checksum = %d, want %d", got, tc.want)
			}
		})
	}
	// The same vector through the level formatting the server uses.
	in := &instrument{TickDec: 1, LotDec: 0}
	got := in.checksum([]level{{33661, 7, 1}, {33660, 6, 1}}, []level{{33668, 9, 1}, {33680, 8, 1}})
	if got != -1881014294 {
		t.Fatalf("level checksum = %d", got)
	}
}

func TestFmtFixed(t *testing.T) {
	for _, tc := range []struct {
		units int64
		dec   int
		want  string
	}{{600001, 1, "60000.1"}, {600000, 1, "60000"}, {11186, 8, "0.00011186"}, {0, 8, "0"}, {5, 0, "5"}, {-15, 1, "-1.5"}} {
		if got := fmtFixed(tc.units, tc.dec); got != tc.want {
			t.Errorf("fmtFixed(%d,%d) = %q, want %q", tc.units, tc.dec, got, tc.want)
		}
	}
	if got := fmtFloat(1e-7, 16); got != "0.0000001" {
		t.Errorf("fmtFloat = %q", got)
	}
}

// localBook is a client-side book kept with the strings as received (the way a recorder would).
type localBook struct {
	bids, asks map[string][2]string // px → [sz, n]
	last       int64
}

type bookData struct {
	Asks      [][]string `json:"asks"`
	Bids      [][]string `json:"bids"`
	Checksum  int32      `json:"checksum"`
	PrevSeqID int64      `json:"prevSeqId"`
	SeqID     int64      `json:"seqId"`
}

func parseBook(t *testing.T, m msg) bookData {
	t.Helper()
	var d []bookData
	if err := json.Unmarshal(m.Data, &d); err != nil || len(d) != 1 {
		t.Fatalf("book data %s: %v", m.Data, err)
	}
	return d[0]
}

func newLocalBook(d bookData) *localBook {
	b := &localBook{bids: map[string][2]string{}, asks: map[string][2]string{}, last: d.SeqID}
	b.apply(d)
	return b
}

func (b *localBook) apply(d bookData) {
	for _, side := range []struct {
		m  map[string][2]string
		lv [][]string
	}{{b.bids, d.Bids}, {b.asks, d.Asks}} {
		for _, l := range side.lv {
			if l[1] == "0" {
				delete(side.m, l[0])
			} else {
				side.m[l[0]] = [2]string{l[1], l[3]}
			}
		}
	}
	b.last = d.SeqID
}

func sortedPx(m map[string][2]string, desc bool) []string {
	out := make([]string, 0, len(m))
	for px := range m {
		out = append(out, px)
	}
	sort.Slice(out, func(i, j int) bool {
		a, _ := strconv.ParseFloat(out[i], 64)
		b, _ := strconv.ParseFloat(out[j], 64)
		if desc {
			return a > b
		}
		return a < b
	})
	return out
}

func (b *localBook) pairs() (bids, asks [][2]string) {
	for _, px := range sortedPx(b.bids, true) {
		bids = append(bids, [2]string{px, b.bids[px][0]})
	}
	for _, px := range sortedPx(b.asks, false) {
		asks = append(asks, [2]string{px, b.asks[px][0]})
	}
	return bids, asks
}

func (b *localBook) checksum() int32 { bids, asks := b.pairs(); return checksumPairs(bids, asks) }

func (b *localBook) String() string { bids, asks := b.pairs(); return fmt.Sprint(bids, asks) }

func (b *localBook) crossed() bool {
	bids, asks := b.pairs()
	if len(bids) == 0 || len(asks) == 0 {
		return false
	}
	bp, _ := strconv.ParseFloat(bids[0][0], 64)
	ap, _ := strconv.ParseFloat(asks[0][0], 64)
	return bp >= ap
}

func TestBooksSeqChainAndChecksum(t *testing.T) {
	for _, ch := range []string{"books", "books50-l2-tbt"} {
		t.Run(ch, func(t *testing.T) {
			_, addr := startSim(t, Config{Rate: 200, Checksum: true, BookDepth: 60,
				APIKey: "k", APISecret: "s", Passphrase: "p"})
			c := dial(t, addr, "public")
			c.send(string(LoginArgs("k", "s", "p", time.Now())))
			c.next(time.Second, isEvent("login"))
			c.send(`{"op":"subscribe","args":[{"channel":"` + ch + `","instId":"BTC-USDT"}]}`)
			snap := c.next(time.Second, isPush(ch))
			d := parseBook(t, snap)
			if snap.Action != "snapshot" || d.PrevSeqID != -1 || d.SeqID <= math.MaxUint32 {
				t.Fatalf("bad snapshot header: action=%s prev=%d seq=%d", snap.Action, d.PrevSeqID, d.SeqID)
			}
			want := 60
			if ch == "books50-l2-tbt" {
				want = 50
			}
			if len(d.Bids) != want || len(d.Asks) != want {
				t.Fatalf("snapshot depth %d/%d, want %d", len(d.Bids), len(d.Asks), want)
			}
			book := newLocalBook(d)
			if book.checksum() != d.Checksum {
				t.Fatalf("snapshot checksum %d, computed %d", d.Checksum, book.checksum())
			}
			heartbeats := 0
			for i := 0; i < 150; i++ {
				m := c.next(2*time.Second, isPush(ch))
				d := parseBook(t, m)
				if m.Action != "update" || d.PrevSeqID != book.last {
					t.Fatalf("update %d: action=%s prevSeqId=%d, last=%d", i, m.Action, d.PrevSeqID, book.last)
				}
				if d.SeqID < d.PrevSeqID {
					t.Fatalf("seqId went backwards without a reset fault: %d < %d", d.SeqID, d.PrevSeqID)
				}
				if d.SeqID == d.PrevSeqID {
					heartbeats++
					if len(d.Bids)+len(d.Asks) != 0 {
						t.Fatalf("heartbeat with levels: %s", m.raw)
					}
				}
				book.apply(d)
				if got := book.checksum(); got != d.Checksum {
					t.Fatalf("update %d: checksum %d, computed %d", i, d.Checksum, got)
				}
				if len(book.bids) > want || len(book.asks) > want {
					t.Fatalf("book deeper than the channel window: %d/%d", len(book.bids), len(book.asks))
				}
				if book.crossed() {
					t.Fatalf("crossed book without fault: %v", book)
				}
			}
			if heartbeats == 0 {
				t.Error("no heartbeat update (prevSeqId == seqId) seen in 150 updates")
			}
		})
	}
}

func TestBooksChecksumZeroByDefault(t *testing.T) {
	_, addr := startSim(t, Config{Rate: 100, BookDepth: 10})
	c := dial(t, addr, "public")
	c.send(`{"op":"subscribe","args":[{"channel":"books","instId":"ETH-USDT-SWAP"}]}`)
	for i := 0; i < 5; i++ {
		if d := parseBook(t, c.next(time.Second, isPush("books"))); d.Checksum != 0 {
			t.Fatalf("checksum %d, want 0 (OKX since 2026-06-23)", d.Checksum)
		}
	}
}

func TestBookFaults(t *testing.T) {
	type check func(b *localBook, prevFrame []byte, m msg, d bookData) bool
	tests := []struct {
		name   string
		faults Faults
		seen   check // reports whether the fault was observed in this message
	}{
		{"gap", Faults{BookGapEvery: 4}, func(b *localBook, _ []byte, _ msg, d bookData) bool {
			return d.PrevSeqID != b.last
		}},
		{"dup", Faults{BookDupEvery: 4}, func(b *localBook, prev []byte, m msg, d bookData) bool {
			return string(prev) == string(m.raw) && d.SeqID <= b.last && d.PrevSeqID < b.last
		}},
		{"reset", Faults{BookResetEvery: 4}, func(b *localBook, _ []byte, _ msg, d bookData) bool {
			return d.PrevSeqID == b.last && d.SeqID < d.PrevSeqID
		}},
		{"bad checksum", Faults{BookBadChecksumEvery: 4}, func(b *localBook, _ []byte, _ msg, d bookData) bool {
			if d.PrevSeqID != b.last {
				return false
			}
			nb := *b
			nb.bids, nb.asks = clone(b.bids), clone(b.asks)
			nb.apply(d)
			return d.Checksum != 0 && d.Checksum != nb.checksum()
		}},
		{"crossed", Faults{BookCrossedEvery: 4}, func(b *localBook, _ []byte, _ msg, d bookData) bool {
			nb := *b
			nb.bids, nb.asks = clone(b.bids), clone(b.asks)
			nb.apply(d)
			return nb.crossed()
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, addr := startSim(t, Config{Rate: 200, Checksum: true, BookDepth: 30, Faults: tc.faults})
			c := dial(t, addr, "public")
			c.send(`{"op":"subscribe","args":[{"channel":"books","instId":"BTC-USDT"}]}`)
			first := c.next(time.Second, isPush("books"))
			book := newLocalBook(parseBook(t, first))
			prev := first.raw
			observed := 0
			for i := 0; i < 24; i++ {
				m := c.next(2*time.Second, isPush("books"))
				d := parseBook(t, m)
				if tc.seen(book, prev, m, d) {
					observed++
				}
				switch {
				case d.PrevSeqID == book.last:
					book.apply(d)
				case d.SeqID <= book.last && d.PrevSeqID < book.last: // duplicate
				default: // gap: resync on the lost data's successor
					book.last = d.SeqID
				}
				prev = m.raw
			}
			if observed < 3 {
				t.Fatalf("fault observed %d times in 24 updates, want ≥ 3 (every 4th)", observed)
			}
		})
	}
}

func clone(m map[string][2]string) map[string][2]string {
	out := make(map[string][2]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// TestRESTBooksLinesUpWithStream runs OKX's REST bootstrap: buffer WS updates, fetch the REST snapshot,
// drop buffered updates with seqId ≤ snapshot seqId, check the first kept one satisfies
// prevSeqId ≤ seqId(snapshot) < seqId, apply the rest and compare with the WS-built book.
func TestRESTBooksLinesUpWithStream(t *testing.T) {
	s, addr := startSim(t, Config{Instruments: 3, Rate: 100, BookDepth: 40})
	c := dial(t, addr, "public")
	// tickers steps the same book too, so the REST seqId need not be one the books stream carried.
	c.send(`{"op":"subscribe","args":[{"channel":"books","instId":"SOL-USDT"},{"channel":"tickers","instId":"SOL-USDT"}]}`)
	ws := newLocalBook(parseBook(t, c.next(time.Second, isPush("books"))))
	for round := 0; round < 5; round++ {
		var rest struct {
			Code string `json:"code"`
			Data []struct {
				Asks  [][]string `json:"asks"`
				Bids  [][]string `json:"bids"`
				Ts    string     `json:"ts"`
				SeqID int64      `json:"seqId"`
			} `json:"data"`
		}
		get(t, "http://"+addr+"/api/v5/market/books?instId=SOL-USDT&sz=400", &rest)
		if rest.Code != "0" || len(rest.Data) != 1 || len(rest.Data[0].Bids) != 40 {
			t.Fatalf("REST books: %+v", rest)
		}
		r := rest.Data[0]
		boot := newLocalBook(bookData{Bids: r.Bids, Asks: r.Asks, SeqID: r.SeqID})
		synced := false
		for !synced {
			d := parseBook(t, c.next(2*time.Second, isPush("books")))
			if d.PrevSeqID != ws.last {
				t.Fatalf("stream chain broken")
			}
			ws.apply(d)
			if d.SeqID <= r.SeqID {
				continue // older than the snapshot: dropped
			}
			if !(d.PrevSeqID <= r.SeqID && r.SeqID < d.SeqID) {
				t.Fatalf("first kept update %d→%d does not straddle REST seqId %d", d.PrevSeqID, d.SeqID, r.SeqID)
			}
			boot.apply(d)
			synced = true
		}
		if boot.String() != ws.String() {
			t.Fatalf("round %d: REST-bootstrapped book differs from stream book\nrest: %v\nws:   %v", round, boot, ws)
		}
	}
	_ = s
	var bad struct{ Code string }
	get(t, "http://"+addr+"/api/v5/market/books?instId=NOPE-USDT", &bad)
	if bad.Code != "51001" {
		t.Fatalf("unknown instId code %q", bad.Code)
	}
}

func TestBooksL2TbtEvictsBooks(t *testing.T) {
	_, addr := startSim(t, Config{Rate: 20, APIKey: "k", APISecret: "s", Passphrase: "p"})
	c := dial(t, addr, "public")
	c.send(string(LoginArgs("k", "s", "p", time.Now())))
	c.next(time.Second, isEvent("login"))
	c.send(`{"op":"subscribe","args":[{"channel":"books","instId":"BTC-USDT"}]}`)
	c.next(time.Second, isEvent("subscribe"))
	c.send(`{"op":"subscribe","args":[{"channel":"books-l2-tbt","instId":"BTC-USDT"}]}`)
	ack := c.next(time.Second, isEvent("subscribe"))
	if ack.Arg["channel"] != "books-l2-tbt" {
		t.Fatalf("ack %s", ack.raw)
	}
	un := c.next(time.Second, isEvent("unsubscribe"))
	if un.Arg["channel"] != "books" || un.ID != "" {
		t.Fatalf("server-side unsubscribe %s", un.raw)
	}
	c.send(`{"id":"9","op":"subscribe","args":[{"channel":"books","instId":"BTC-USDT"}]}`)
	e := c.next(time.Second, isEvent("error"))
	if e.Code != "64004" || e.ID != "9" {
		t.Fatalf("want 64004, got %s", e.raw)
	}
}

// TestBookFaultsSurviveResubscribe: faults count a stream's updates since the simulator started, so a client
// that unsubscribes and resubscribes (as a resyncing book manager does after each fault) keeps meeting them
// at the same cadence instead of restarting the count with each new feed.
func TestBookFaultsSurviveResubscribe(t *testing.T) {
	srv, addr := startSim(t, Config{Rate: 200, BookDepth: 30, Faults: Faults{BookGapEvery: 5}})
	c := dial(t, addr, "public")
	const arg = `{"channel":"books","instId":"BTC-USDT"}`
	updates, gaps := 0, 0
	for round := 0; round < 4; round++ {
		c.send(`{"op":"subscribe","args":[` + arg + `]}`)
		book := newLocalBook(parseBook(t, c.next(time.Second, isPush("books"))))
		for i := 0; i < 3+round; i++ { // a different number of updates per round
			d := parseBook(t, c.next(2*time.Second, isPush("books")))
			updates++
			if gap := d.PrevSeqID != book.last; gap != (updates%5 == 0) {
				t.Fatalf("round %d, update %d overall: gap %v (prevSeqId %d, last %d)", round, updates, gap,
					d.PrevSeqID, book.last)
			} else if gap {
				gaps++
			}
			book.last = d.SeqID
		}
		// Updates already queued before the unsubscribe took effect still count; none follows its ack.
		c.send(`{"op":"unsubscribe","args":[` + arg + `]}`)
		for {
			m := c.next(2*time.Second, func(m msg) bool { return m.Event == "unsubscribe" || isPush("books")(m) })
			if m.Event == "unsubscribe" {
				break
			}
			d := parseBook(t, m)
			updates++
			if gap := d.PrevSeqID != book.last; gap != (updates%5 == 0) {
				t.Fatalf("round %d, update %d overall (draining): gap %v", round, updates, gap)
			} else if gap {
				gaps++
			}
			book.last = d.SeqID
		}
	}
	if st := srv.Stats(); gaps < updates/5 || gaps == 0 || st.Faults["book_gap"] != uint64(gaps) || len(st.Faults) != 1 {
		t.Fatalf("%d gaps in %d updates; sim faults %v", gaps, updates, st.Faults)
	}
}
