package e2e

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/okxtape/okxtape/internal/testenv"
	"github.com/okxtape/okxtape/store/parquet"

	"github.com/okxtape/okxtape/schema"
)

// captureFixture is a real OKX capture (bmoscon/cryptofeed sample_data; see its README): 290 books messages
// with checksums, 74 trades, 28 tickers, for BTC-USDT, BTC-USD-220527 and UNI-USD-SWAP.
const captureFixture = "../../shared/fixtures/okx/OKX.ws.1.0"

// bookCounters reads the exit summary's ingest.books counters (the book managers of all connections).
func bookCounters(t *testing.T, s summary) map[string]uint64 {
	t.Helper()
	m, ok := s.path("ingest", "books").(map[string]any)
	if !ok {
		t.Fatalf("summary has no ingest.books: %v", s.path("ingest"))
	}
	out := map[string]uint64{}
	for k, v := range m {
		f, ok := v.(float64)
		if !ok {
			t.Fatalf("ingest.books.%s = %v", k, v)
		}
		out[k] = uint64(f)
	}
	return out
}

// readGaps returns the gap ledger in dispatch order.
func readGaps(t *testing.T, dir string) []schema.Gap {
	t.Helper()
	var out []schema.Gap
	err := parquet.ReadDataset(dir, "gaps", time.Time{}, time.Time{}, func(e schema.Stored) error {
		g, ok := e.(*schema.Gap)
		if !ok {
			return errors.New("gaps dataset holds a " + e.Kind().String())
		}
		out = append(out, *g)
		return nil
	})
	if err != nil {
		t.Fatalf("reading the gap ledger: %v", err)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Seq < out[j].Seq })
	return out
}

// scrape reads a Prometheus text exposition into series -> value (histogram and summary lines included).
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	m, err := tryScrape(url)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// tryScrape reads a Prometheus text page into series (name with labels) -> value.
func tryScrape(url string) (map[string]float64, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for _, line := range strings.Split(string(b), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			out[line[:i]] = v
		}
	}
	return out, nil
}

func isDetection(reason string) bool {
	return reason == schema.GapSequence || reason == schema.GapChecksum || reason == schema.GapCrossed
}

// TestBookFaultsDetectedResyncedLedgered: the simulator loses, repeats and resets book updates and sends
// wrong checksums and crossed books. Every loss, bad checksum and crossed book is detected and ledgered once
// (detection gap) and the book is rebuilt (one resync gap per detection); repeats and sequence resets are not
// incidents. The exit summary's book counters agree with the ledger, and replaying the recording gives the
// live digest (same books and top of book).
func TestBookFaultsDetectedResyncedLedgered(t *testing.T) {
	out := t.TempDir()
	// Per books stream at 20 updates/s for ~8 s (~160 updates): each fault recurs several times. Distinct
	// primes keep two faults off the same update for the first 143 updates of a stream.
	s := startSim(t, "--instruments", "2", "--rate", "20", "--checksum", "--book-depth", "100",
		"--book-dup-every", "11", "--book-gap-every", "13", "--book-reset-every", "17",
		"--book-bad-checksum-every", "19", "--book-crossed-every", "29")
	mflag, metricsURL := metricsFlag(t)
	rec := start(t, nil, "record", append([]string{"--ws-url", s.ws(), "--rest-url", s.rest(),
		"--channels", "books,books5", "--inst", "BTC-USDT,ETH-USDT", "--strategy", "digest",
		"--out", out, "--flush-interval", "200ms", "--log-level", "warn"}, mflag...)...)
	faults := []string{"book_gap", "book_dup", "book_reset", "book_bad_checksum", "book_crossed"}
	if !testenv.WaitFor(waitLimit, func() bool {
		st, err := s.sentSoFar()
		for _, k := range faults {
			if err != nil || st.Faults[k] < 2 {
				return false
			}
		}
		return true
	}) {
		t.Fatalf("the simulator did not inject each fault twice within %s", waitLimit)
	}
	// Every kind of incident shows in /metrics once the faults are injected (detected as the updates arrive).
	names := []string{"okxtape_book_resyncs_total", "okxtape_book_checksum_failures_total",
		"okxtape_book_checksums_verified_total", `okxtape_book_gaps_total{reason="sequence"}`,
		`okxtape_book_gaps_total{reason="checksum"}`, `okxtape_book_gaps_total{reason="crossed"}`,
		`okxtape_book_gaps_total{reason="resync"}`}
	waitMetrics(t, metricsURL, fmt.Sprintf("each of %v > 0", names), func(m map[string]float64) bool {
		for _, name := range names {
			if m[name] <= 0 {
				return false
			}
		}
		return true
	})
	sent := s.finish()
	waitDrained(t, metricsURL, sent)
	live := rec.end(0)
	bc := bookCounters(t, live)
	t.Logf("sim faults %v, books items %d; ingest.books %v", sent.Faults, sent.Items["books"], bc)
	for _, k := range []string{"book_gap", "book_dup", "book_reset", "book_bad_checksum", "book_crossed"} {
		if sent.Faults[k] < 2 {
			t.Fatalf("simulator injected %s %d times, want several (faults %v)", k, sent.Faults[k], sent.Faults)
		}
	}

	gaps := readGaps(t, out)
	perReason := map[string]uint64{}
	type key struct{ channel, inst string }
	seq := map[key][]string{}
	for _, g := range gaps {
		perReason[g.Reason]++
		if g.Reason == schema.GapDisconnect {
			continue // the simulator stopped before the recorder
		}
		if g.ToMs < g.FromMs || g.Conn == "" || g.Detail == "" {
			t.Errorf("gap row %+v", g)
		}
		k := key{g.Channel, g.InstID}
		seq[k] = append(seq[k], g.Reason)
	}
	for _, r := range []string{schema.GapSequence, schema.GapChecksum, schema.GapCrossed} {
		if perReason[r] == 0 {
			t.Errorf("no %s gap in the ledger (%v)", r, perReason)
		}
	}
	// A repeat or a sequence reset is no incident: every sequence gap is an injected loss, every checksum gap an
	// injected bad checksum (a wrongly rebuilt book would add more), every crossed gap an injected crossed book.
	if perReason[schema.GapSequence] > sent.Faults["book_gap"] ||
		perReason[schema.GapChecksum] > sent.Faults["book_bad_checksum"] ||
		perReason[schema.GapCrossed] > sent.Faults["book_crossed"] {
		t.Errorf("more incidents than injected faults: ledger %v, faults %v", perReason, sent.Faults)
	}
	if bc["duplicates"] == 0 || bc["checksums_verified"] == 0 {
		t.Errorf("repeats not dropped as duplicates or no checksum verified: %v", bc)
	}
	// Each detection is followed by exactly one resync before the next detection of the same book; one
	// incident per book may still be open when the simulator stops.
	open := 0
	for k, rs := range seq {
		if k.channel != "books" {
			t.Errorf("incident on %s %s: %v", k.channel, k.inst, rs)
		}
		det, res := 0, 0
		for i, r := range rs {
			want := isDetection(r)
			if i%2 == 1 {
				want = r == schema.GapResync
			}
			if !want {
				t.Errorf("%s %s: ledger out of order at row %d: %v", k.channel, k.inst, i, rs)
				break
			}
			if r == schema.GapResync {
				res++
			} else {
				det++
			}
		}
		if det != res && det != res+1 {
			t.Errorf("%s %s: %d detections, %d resyncs", k.channel, k.inst, det, res)
		}
		open += det - res
	}
	// The summary's counters are the ledger's.
	detections := perReason[schema.GapSequence] + perReason[schema.GapChecksum] + perReason[schema.GapCrossed]
	if bc["gaps"] != detections+perReason[schema.GapResync] || bc["resyncs"] != perReason[schema.GapResync] ||
		bc["sequence_gaps"] != perReason[schema.GapSequence] || bc["checksum_failures"] < perReason[schema.GapChecksum] ||
		bc["crossed"] < perReason[schema.GapCrossed] || bc["resyncs"]+uint64(open) != detections {
		t.Errorf("summary ingest.books %v disagrees with the ledger %v (%d still open)", bc, perReason, open)
	}
	if st := live.path("strategies", "digest", "gaps"); st == nil {
		t.Errorf("digest summary has no gap count")
	}

	replayed, _ := replayDigest(t, out)
	requireParity(t, "books with faults", live, replayed)
	if q, _ := live.path("strategies", "digest", "events", "quote").(float64); q == 0 {
		t.Errorf("no quotes in the live digest: %v", live.path("strategies", "digest", "events"))
	}
}

// TestCaptureChecksumsVerify: a real OKX capture served by the simulator verifies every book checksum through
// record, with no gap, and every books message is stored.
func TestCaptureChecksumsVerify(t *testing.T) {
	if _, err := os.Stat(captureFixture); err != nil {
		testenv.Fixtures.Missing(t, err)
	}
	const books = 290
	out := t.TempDir()
	s := startSim(t, "--capture", captureFixture)
	mflag, metricsURL := metricsFlag(t)
	rec := start(t, nil, "record", append([]string{"--ws-url", s.ws(), "--rest-url", s.rest(),
		"--channels", "books,trades,tickers", "--inst", "BTC-USDT,BTC-USD-220527,UNI-USD-SWAP",
		"--out", out, "--flush-interval", "200ms", "--log-level", "warn"}, mflag...)...)
	s.waitSent(t, books, "books") // the whole capture
	sent := s.finish()
	waitDrained(t, metricsURL, sent)
	rec.end(0)
	if sent.Items["books"] != books {
		t.Fatalf("simulator sent %d books messages, want the capture's %d", sent.Items["books"], books)
	}
	var live summary
	rec.lastJSON(&live)
	bc := bookCounters(t, live)
	if bc["checksums_verified"] != books || bc["checksum_failures"] != 0 || bc["gaps"] != 0 ||
		bc["sequence_gaps"] != 0 || bc["books"] != 3 {
		t.Fatalf("ingest.books %v, want %d checksums verified, no failure, no gap, 3 books", bc, books)
	}
	if n := storedRows(t, out, "books", "")["books"]; n != books {
		t.Fatalf("%d books rows stored, want %d", n, books)
	}
	for _, g := range readGaps(t, out) {
		if g.Reason != schema.GapDisconnect {
			t.Errorf("gap %+v", g)
		}
	}
	for ch, want := range map[string]uint64{"trades": sent.Items["trades"], "tickers": sent.Items["tickers"]} {
		if got := storedRows(t, out, ch, "")[ch]; got != want || got == 0 {
			t.Errorf("%s: %d rows stored, simulator sent %s", ch, got, strconv.FormatUint(want, 10))
		}
	}
}
