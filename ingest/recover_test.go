package ingest

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/okxtape/okxtape/ingest/book"
	"github.com/okxtape/okxtape/ingest/decode"
	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/sim"
)

// bookMetrics reads the okxtape_book_* counters from the default registry (what /metrics serves).
func bookMetrics(t *testing.T) map[string]float64 {
	t.Helper()
	mfs, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if !strings.HasPrefix(mf.GetName(), "okxtape_book_") {
			continue
		}
		for _, m := range mf.GetMetric() {
			name := mf.GetName()
			for _, l := range m.GetLabel() {
				name += "{" + l.GetName() + "=" + l.GetValue() + "}"
			}
			out[name] = m.GetCounter().GetValue()
		}
	}
	return out
}

// TestBookStatsAggregated: with book faults on two connections (one book manager each), the client's
// Stats.Books is the sum of both managers, agrees with the gap rows emitted, appears in the JSON summary as
// "books", and the okxtape_book_* counters on the default registry grew by the same amounts.
func TestBookStatsAggregated(t *testing.T) {
	before := bookMetrics(t)
	for _, name := range []string{"okxtape_book_resyncs_total", "okxtape_book_checksum_failures_total",
		"okxtape_book_checksums_verified_total", "okxtape_book_gaps_total{reason=sequence}",
		"okxtape_book_gaps_total{reason=checksum}", "okxtape_book_gaps_total{reason=crossed}",
		"okxtape_book_gaps_total{reason=resync}"} {
		if _, ok := before[name]; !ok {
			t.Errorf("metric %s not registered on the default registry (have %v)", name, before)
		}
	}
	srv, addr := startSim(t, sim.Config{Rate: 50, Checksum: true, BookDepth: 50, Faults: sim.Faults{
		BookGapEvery: 7, BookDupEvery: 5, BookResetEvery: 9, BookBadChecksumEvery: 11, BookCrossedEvery: 13}})
	cfg := testConfig(addr, []decode.Arg{sub("books", "BTC-USDT"), sub("books", "ETH-USDT")})
	cfg.MaxArgsPerConn = 1 // two connections, two managers
	cfg.Book.SnapshotTimeout = 200 * time.Millisecond
	h := run(t, cfg)
	waitFor(t, 5*time.Second, "connections up", h.up(2))
	waitFor(t, 10*time.Second, "every kind of incident", func() bool {
		b := h.c.Stats().Books
		return b.SequenceGaps >= 2 && b.ChecksumFailures >= 2 && b.Crossed >= 2 && b.Resyncs >= 6
	})
	_ = srv.Close()
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	st := h.c.Stats()
	b := st.Books

	var sum book.Stats
	for _, s := range h.c.slots {
		ms := s.books.Stats()
		if ms.Books != 1 || ms.Applied == 0 {
			t.Fatalf("%s manager stats %+v", s.label, ms)
		}
		sum.Add(ms)
	}
	if sum != b {
		t.Fatalf("Stats.Books %+v, sum of the managers %+v", b, sum)
	}

	perReason := map[string]uint64{}
	h.r.mu.Lock()
	for _, g := range h.r.gaps {
		perReason[g.Reason]++
	}
	books := 0
	for _, n := range h.r.books {
		books += n
	}
	h.r.mu.Unlock()
	bookGaps := perReason[schema.GapSequence] + perReason[schema.GapChecksum] + perReason[schema.GapCrossed] +
		perReason[schema.GapResync]
	detections := bookGaps - perReason[schema.GapResync]
	switch {
	case b.Books != 2 || b.Gaps != bookGaps || b.Resyncs != perReason[schema.GapResync]:
		t.Fatalf("books %+v, gap rows %v", b, perReason)
	case b.SequenceGaps != perReason[schema.GapSequence] || b.ChecksumFailures < perReason[schema.GapChecksum] ||
		b.Crossed < perReason[schema.GapCrossed]:
		t.Fatalf("books %+v, gap rows %v", b, perReason)
	case perReason[schema.GapSequence] == 0 || perReason[schema.GapChecksum] == 0 || perReason[schema.GapCrossed] == 0:
		t.Fatalf("not every incident kind ledgered: %v", perReason)
	case b.Resyncs < detections-2 || b.Resyncs > detections: // at most one open incident per book at the stop
		t.Fatalf("%d detections, %d resyncs", detections, b.Resyncs)
	case b.Duplicates == 0 || b.ChecksumsVerified == 0 || b.Heartbeats+b.Applied == 0 || uint64(books) < b.Applied:
		t.Fatalf("books %+v, %d books emitted", b, books)
	}

	after := bookMetrics(t)
	delta := func(name string) uint64 { return uint64(after[name] - before[name]) }
	for name, want := range map[string]uint64{
		"okxtape_book_resyncs_total":               b.Resyncs,
		"okxtape_book_checksum_failures_total":     b.ChecksumFailures,
		"okxtape_book_checksums_verified_total":    b.ChecksumsVerified,
		"okxtape_book_gaps_total{reason=sequence}": perReason[schema.GapSequence],
		"okxtape_book_gaps_total{reason=checksum}": perReason[schema.GapChecksum],
		"okxtape_book_gaps_total{reason=crossed}":  perReason[schema.GapCrossed],
		"okxtape_book_gaps_total{reason=resync}":   perReason[schema.GapResync],
	} {
		if got := delta(name); got != want {
			t.Errorf("%s grew by %d, want %d", name, got, want)
		}
	}

	js, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	var decoded struct {
		Books map[string]uint64 `json:"books"`
	}
	if err := json.Unmarshal(js, &decoded); err != nil {
		t.Fatal(err)
	}
	if decoded.Books["resyncs"] != b.Resyncs || decoded.Books["gaps"] != b.Gaps ||
		decoded.Books["checksum_failures"] != b.ChecksumFailures || decoded.Books["sequence_gaps"] != b.SequenceGaps {
		t.Fatalf("summary JSON books: %s", js)
	}
}

// TestReloginAfterReconnect: a private connection dropped twice logs in again before resubscribing each time
// (the simulator refuses private subscriptions without a login), private pushes resume, and each outage is
// one disconnect gap.
func TestReloginAfterReconnect(t *testing.T) {
	srv, addr := startSim(t, sim.Config{Rate: 20, APIKey: testKey, APISecret: testSecret, Passphrase: testPass})
	cfg := testConfig(addr, []decode.Arg{{Channel: "orders", InstType: "ANY"}, {Channel: "account"},
		{Channel: "positions", InstType: "ANY"}, sub("tickers", "BTC-USDT")})
	cfg.Credentials = Credentials{testKey, testSecret, testPass}
	h := run(t, cfg)
	waitFor(t, 5*time.Second, "connections up", h.up(2))
	private := func() int {
		return h.r.count(schema.KindOrder) + h.r.count(schema.KindBalance) + h.r.count(schema.KindPosition)
	}
	waitFor(t, 3*time.Second, "private pushes", func() bool { return h.r.count(schema.KindOrder) > 0 })
	if n := srv.Stats().Logins["ok"]; n != 1 {
		t.Fatalf("%d logins, want 1 (only the private connection logs in)", n)
	}
	for i := 1; i <= 2; i++ {
		balances := h.r.count(schema.KindBalance)
		srv.DropConnections()
		waitFor(t, 5*time.Second, "reconnects", func() bool { return h.c.Stats().Reconnects == uint64(2*i) })
		waitFor(t, 5*time.Second, "connections up", h.up(2))
		if n := srv.Stats().Logins["ok"]; n != uint64(1+i) {
			t.Fatalf("after drop %d: %d logins, want %d (logins %v)", i, n, 1+i, srv.Stats().Logins)
		}
		// the account snapshot is pushed on each (re)subscribe; orders flow again on the new connection
		waitFor(t, 3*time.Second, "account snapshot after the reconnect", func() bool {
			return h.r.count(schema.KindBalance) > balances
		})
		n := private()
		waitFor(t, 3*time.Second, "private pushes after the reconnect", func() bool { return private() >= n+3 })
	}
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	if st := srv.Stats(); len(st.Logins) != 1 {
		t.Fatalf("login results %v: a login failed or was repeated", st.Logins)
	}
	h.r.mu.Lock()
	defer h.r.mu.Unlock()
	for _, e := range h.r.xerrs {
		t.Errorf("exchange error %+v", e)
	}
	perConn := map[string]int{}
	for _, g := range h.r.gaps {
		if g.Reason != schema.GapDisconnect {
			continue
		}
		perConn[g.Conn]++
		if g.ToMs < g.FromMs || g.FromMs == 0 || strings.Contains(g.Detail, "still down") {
			t.Errorf("gap %+v", g)
		}
	}
	if perConn["private#0"] != 2 || perConn["public#0"] != 2 || len(perConn) != 2 {
		t.Fatalf("disconnect gaps per connection %v, want 2 each", perConn)
	}
	subs := map[string]int{}
	for _, s := range h.r.subscribed {
		subs[s.Channel]++
	}
	for _, ch := range []string{"orders", "account", "positions", "tickers"} {
		if subs[ch] != 3 {
			t.Errorf("%s subscribed %d times, want 3 (%v)", ch, subs[ch], subs)
		}
	}
	assertNoSecrets(t, h.logs.String(), testSecret, testPass)
}
