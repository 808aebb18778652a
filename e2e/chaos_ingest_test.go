package e2e

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/store/parquet"
)

// Chaos tests for the ingest side of issue 13: 64008 handovers, deflate bombs, bad values and exit codes,
// each driving the real binaries and asserting that nothing was lost (or doubled) or that the exit status
// and message are the right ones.

func num(s summary, keys ...string) uint64 {
	f, _ := s.path(keys...).(float64)
	return uint64(f)
}

// waitFault polls the simulator's /stats until it has injected n faults of a kind.
func (s *sim) waitFault(kind string, n uint64, within time.Duration) {
	s.t.Helper()
	deadline := time.Now().Add(within)
	for {
		var st simStats
		if resp, err := http.Get("http://" + s.addr + "/stats"); err == nil {
			_ = json.NewDecoder(resp.Body).Decode(&st)
			resp.Body.Close()
		}
		if st.Faults[kind] >= n {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("the simulator injected %d %s faults within %v, want %d", st.Faults[kind], kind, within, n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// recordFor runs record against s for d (or until until returns), stops the simulator first (so everything on the wire is read), then
// record, and returns record's summary.
func recordFor(t *testing.T, s *sim, out string, d time.Duration, until func(), args ...string) (summary, simStats, *proc) {
	t.Helper()
	rec := start(t, nil, "record", append([]string{"--ws-url", s.ws(), "--rest-url", s.rest(), "--out", out,
		"--flush-interval", "200ms", "--log-level", "warn"}, args...)...)
	if until != nil {
		until()
	} else {
		time.Sleep(d)
	}
	sent := s.finish()
	time.Sleep(1500 * time.Millisecond)
	rec.stop(syscall.SIGTERM, 60*time.Second)
	var sum summary
	rec.lastJSON(&sum)
	return sum, sent, rec
}

// TestChaosHandover: 64008 notices every second. Every ticker, trade and book message is stored once, books
// never go back in seqId, and what both connections delivered was dropped once and counted.
func TestChaosHandover(t *testing.T) {
	out := t.TempDir()
	s := startSim(t, "--instruments", "2", "--rate", "40", "--notice-every", "1200ms", "--notice-grace", "1500ms")
	sum, _, rec := recordFor(t, s, out, 6*time.Second, nil, "--channels", "tickers,trades,books",
		"--inst", "BTC-USDT,ETH-USDT", "--strategy", "digest")
	if rec.exitCode() != 0 {
		t.Fatalf("record exit %d", rec.exitCode())
	}
	if h := num(sum, "ingest", "handovers"); h < 4 {
		t.Fatalf("only %d handovers", h)
	}
	tickers := map[string]int{}
	trades := map[string]int{}
	lastSeq := map[string]int64{}
	bookRows := map[string]bool{}
	var back, twice, storedTickers int
	err := parquet.ReadDataset(out, "tickers", time.Time{}, time.Time{}, func(e schema.Stored) error {
		tk := e.(*schema.Ticker)
		tickers[fmt.Sprint(tk.InstID, tk.Ts, tk.Last, tk.BidPx, tk.AskPx, tk.BidSz, tk.AskSz, tk.Vol24h)]++
		storedTickers++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = parquet.ReadDataset(out, "trades", time.Time{}, time.Time{}, func(e schema.Stored) error {
		tr := e.(*schema.Trade)
		trades[fmt.Sprint(tr.InstID, tr.TradeID)]++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var books []*schema.Book
	err = parquet.ReadDataset(out, "books", time.Time{}, time.Time{}, func(e schema.Stored) error {
		books = append(books, e.(*schema.Book).Clone())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sortBySeq(books)
	for _, b := range books {
		if last, ok := lastSeq[b.InstID]; ok && b.SeqID < last && !(b.SeqID < b.PrevSeqID) {
			t.Logf("book %s seqId %d (prevSeqId %d) stored after seqId %d", b.InstID, b.SeqID, b.PrevSeqID, last)
			back++
		}
		lastSeq[b.InstID] = b.SeqID
		// The same message from both connections (a heartbeat repeats its seqId, with a later ts).
		k := fmt.Sprint(b.InstID, b.Action, b.PrevSeqID, b.SeqID, b.Ts)
		if bookRows[k] {
			t.Logf("book %s %s seqId %d (prevSeqId %d, ts %d) stored twice", b.InstID, b.Action, b.SeqID,
				b.PrevSeqID, b.Ts)
			twice++
		}
		bookRows[k] = true
	}
	for what, m := range map[string]map[string]int{"ticker": tickers, "trade": trades} {
		for k, n := range m {
			if n > 1 {
				t.Errorf("%s %s stored %d times", what, k, n)
			}
		}
	}
	if back != 0 || twice != 0 {
		t.Errorf("%d book rows went back in seqId, %d were stored twice", back, twice)
	}
	dups := num(sum, "ingest", "handover_duplicates", "tickers")
	if want := num(sum, "ingest", "events", "tickers") - dups; uint64(storedTickers) != want || storedTickers == 0 {
		t.Errorf("%d tickers stored, %d decoded less %d handover duplicates", storedTickers,
			num(sum, "ingest", "events", "tickers"), dups)
	}
	t.Logf("handover figures: %d handovers, duplicates dropped %v, stale book snapshots %d, book duplicates %d, gaps %d",
		num(sum, "ingest", "handovers"), sum.path("ingest", "handover_duplicates"),
		num(sum, "ingest", "books", "stale_snapshots"), num(sum, "ingest", "books", "duplicates"),
		num(sum, "ingest", "books", "gaps"))
	replayed, _ := replayDigest(t, out)
	requireParity(t, "handovers", sum, replayed)
}

func sortBySeq(b []*schema.Book) {
	for i := 1; i < len(b); i++ { // insertion sort: the files are nearly in seq order already
		for j := i; j > 0 && b[j].Seq < b[j-1].Seq; j-- {
			b[j], b[j-1] = b[j-1], b[j]
		}
	}
}

// TestChaosDeflateBomb: the simulator precedes every 20th frame with a 100 MB message that deflates to a few
// hundred KB. record skips each one (counted once), keeps its connection, stores every real item and its
// peak RSS stays far below the bomb's size.
func TestChaosDeflateBomb(t *testing.T) {
	out := t.TempDir()
	s := startSim(t, "--instruments", "1", "--rate", "20", "--bomb-every", "20", "--bomb-bytes", "104857600")
	sum, sent, rec := recordFor(t, s, out, 0, func() { s.waitFault("bomb", 3, 3*time.Minute) },
		"--channels", "tickers", "--inst", "BTC-USDT")
	if rec.exitCode() != 0 {
		t.Fatalf("record exit %d", rec.exitCode())
	}
	bombs := sent.Faults["bomb"]
	if bombs < 3 {
		t.Fatalf("the simulator sent only %d bombs", bombs)
	}
	if got := num(sum, "ingest", "decode_errors", "oversized"); got != bombs {
		t.Errorf("oversized counted %d, bombs sent %d", got, bombs)
	}
	if r := num(sum, "ingest", "reconnects"); r != 0 || num(sum, "ingest", "connections_opened") != 1 {
		t.Errorf("the bombs cost connections: %d reconnects, %d opened", r, num(sum, "ingest", "connections_opened"))
	}
	if got := storedRows(t, out, "tickers", "")["tickers"]; got != sent.Items["tickers"] || got == 0 {
		t.Errorf("%d tickers stored, %d sent", got, sent.Items["tickers"])
	}
	ru, ok := rec.cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		t.Fatal("no rusage")
	}
	peakMB := float64(ru.Maxrss) / 1024
	t.Logf("deflate bomb figures: %d bombs of 100 MB, record peak RSS %.0f MB (race-instrumented binary)", bombs, peakMB)
	if peakMB > 600 { // 100 MB per bomb inflated would be far above; the race detector alone doubles the heap
		t.Errorf("record peak RSS %.0f MB under the bombs", peakMB)
	}
}

// TestChaosBadValues: "Inf", "-Infinity", "NaN", "0x1p3" prices and pushes without ts are decode errors
// counted per kind and stored only as raw frames; every good item is stored.
func TestChaosBadValues(t *testing.T) {
	out := t.TempDir()
	s := startSim(t, "--instruments", "2", "--rate", "30", "--bad-value-every", "7")
	sum, sent, rec := recordFor(t, s, out, 0, func() { s.waitFault("bad_value", 40, time.Minute) },
		"--channels", "tickers,trades,funding-rate",
		"--inst", "BTC-USDT,ETH-USDT-SWAP")
	if rec.exitCode() != 0 {
		t.Fatalf("record exit %d", rec.exitCode())
	}
	bad := num(sum, "ingest", "decode_errors", "bad_number") + num(sum, "ingest", "decode_errors", "no_ts")
	if bad == 0 || bad != sent.Faults["bad_value"] {
		t.Errorf("decode errors %v, simulator sent %d bad values", sum.path("ingest", "decode_errors"), sent.Faults["bad_value"])
	}
	for ch, ds := range map[string]string{"tickers": "tickers", "trades": "trades", "funding-rate": "funding_rates"} {
		if got := storedRows(t, out, ds, "")[ch]; got != sent.Items[ch] {
			t.Errorf("%s: %d rows stored, %d good items sent", ch, got, sent.Items[ch])
		}
		if raw := storedRows(t, out, "raw", "")[ch]; raw != sent.Frames[ch] {
			t.Errorf("%s: %d raw frames stored, %d sent (bad ones included)", ch, raw, sent.Frames[ch])
		}
	}
	err := parquet.ReadDataset(out, "tickers", time.Time{}, time.Time{}, func(e schema.Stored) error {
		tk := e.(*schema.Ticker)
		if tk.Ts <= 0 || math.IsInf(tk.Last, 0) || math.IsNaN(tk.Last) {
			t.Errorf("bad ticker stored: %+v", *tk)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestChaosExitCodes: 0 clean, 1 failed at the job, 2 bad usage, each with a message naming the flag.
func TestChaosExitCodes(t *testing.T) {
	s := startSim(t, "--instruments", "1", "--rate", "20")
	data := t.TempDir()
	closed := fmt.Sprintf("ws://127.0.0.1:%d", freePort(t))
	live := []string{"--ws-url", s.ws(), "--rest-url", s.rest()}
	cases := []struct {
		name string
		bin  string
		args []string
		code int
		says string
	}{
		{"record clean", "record", append(live, "--no-store", "--duration", "1s"), 0, ""},
		{"record never connected", "record", []string{"--ws-url", closed, "--no-store", "--duration", "1s"}, 1, "never connected"},
		{"record unknown instrument", "record", append(live, "--no-store", "--inst", "NOPE-USDT", "--duration", "20s"), 1, "60018"},
		{"record unknown channel", "record", append(live, "--no-store", "--channels", "foo"), 2, "--channels"},
		{"record negative duration", "record", append(live, "--duration", "-5s"), 2, "--duration"},
		{"record negative batch", "record", append(live, "--batch-size", "-1"), 2, "--batch-size"},
		{"record negative flush", "record", append(live, "--flush-interval", "-1s"), 2, "--flush-interval"},
		{"record GC off", "record", append(live, "--gc-percent", "-1", "--memory-limit-mb", "0"), 2, "--gc-percent"},
		{"record stats flood", "record", append(live, "--stats-interval", "1ns"), 2, "--stats-interval"},
		{"record DSN without database", "record", append(live, "--clickhouse", "clickhouse://127.0.0.1:9000"), 2, "--clickhouse"},
		{"replay http DSN", "replay", []string{"run", "--clickhouse", "http://x"}, 2, "--clickhouse"},
		{"replay tiny speed", "replay", []string{"run", "--data", data, "--speed", "1e-300"}, 2, "--speed"},
		{"replay serve bad listen", "replay", []string{"serve", "--data", data, "--listen", "abc"}, 2, "--listen"},
		{"replay empty range", "replay", []string{"run", "--data", data, "--from", "2099-01-01"}, 1, "no stored events"},
		{"okxsim bad flag", "okxsim", []string{"--nope"}, 2, "nope"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := start(t, nil, tc.bin, append(tc.args, "--log-level", "error")...)
			p.wait(40 * time.Second)
			stderr := strings.TrimSpace(p.stderr.String())
			if p.exitCode() != tc.code || !strings.Contains(stderr, tc.says) {
				t.Fatalf("exit %d, want %d; stderr %q", p.exitCode(), tc.code, tail(stderr, 500))
			}
			if tc.code == 2 && strings.Contains(stderr, "GLOBAL OPTIONS") {
				t.Fatalf("a usage error printed the whole help")
			}
		})
	}
}
