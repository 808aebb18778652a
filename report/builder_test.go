package report

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/okxtape/okxtape/schema"
)

const t0 = int64(1796600000000) // a UTC instant, ms

// fixture is a hand-built store: per table, parts of rows in stored order.
type fixture map[*schema.Table][][]schema.Stored

func (f fixture) add(part int, e schema.Stored) {
	t := schema.TableOf(e.Kind())
	for len(f[t]) <= part {
		f[t] = append(f[t], nil)
	}
	f[t][part] = append(f[t][part], schema.Clone(e))
}

// build feeds the fixture to a Builder the way replay report does: Tables() order, PartDone after each part.
func (f fixture) build(o Options) *Report {
	b := NewBuilder(o)
	for _, t := range Tables() {
		for _, part := range f[t] {
			for _, e := range part {
				b.Add(t, e)
			}
			b.PartDone()
		}
	}
	return b.Report()
}

func hdr(seq uint64, ch, inst string, ts int64, lagMs int64) schema.Header {
	return schema.Header{Seq: seq, Channel: ch, InstID: inst, Ts: ts, RecvNs: (ts + lagMs) * 1e6}
}

// sessionsFixture: session 1 runs 0–200 s and stops cleanly, session 2 starts at 260 s and crashes after its
// last event at ~400 s, session 3 starts at 500 s and records nothing. Tickers for two instruments every
// 100 ms while a session runs, with a 2 s connection outage at 50 s; trades for one instrument with an outage
// at 100–110 s whose window another recorder filled; books for one instrument with a sequence incident.
func sessionsFixture() (fixture, map[[3]string]uint64) {
	f := fixture{}
	counts := map[[3]string]uint64{}
	seq := uint64(1)
	next := func() uint64 { seq++; return seq }
	sess := func(id string, start, end int64) {
		s := &schema.Session{Header: hdr(next(), "", "", start, 0), SessionID: id, StartMs: start, Host: "h", Version: "v1",
			Channels: "tickers,trades,books", Instruments: "BTC-USDT,ETH-USDT"}
		f.add(0, s)
		counts[[3]string{"sessions", "", ""}]++
		if end > 0 {
			s.EndMs = end
			f.add(0, s)
			counts[[3]string{"sessions", "", ""}]++
		}
	}
	sess("s1", t0, t0+200000)
	sess("s2", t0+260000, 0)
	sess("s3", t0+500000, 0)
	gap := func(ch, inst, conn, reason, detail string, from, to int64) {
		f.add(0, &schema.Gap{Header: hdr(next(), ch, inst, from, 0), FromMs: from, ToMs: to, Reason: reason, Conn: conn, Detail: detail})
		counts[[3]string{"gaps", ch, inst}]++
	}
	gap("", "", "public#0", schema.GapDisconnect, "tickers:BTC-USDT,tickers:ETH-USDT", t0+50000, t0+52000)
	gap("", "", "public#1", schema.GapDisconnect, "reconnect: trades:BTC-USDT", t0+100000, t0+110000)
	gap("books", "BTC-USDT", "public#2", schema.GapSequence, "prevSeqId 25, last seqId 20", t0+30000, t0+31000)
	gap("books", "BTC-USDT", "public#2", schema.GapResync, "after sequence", t0+30000, t0+31500)

	running := func(ts int64) bool {
		return (ts >= t0 && ts < t0+200000) || (ts >= t0+260000 && ts < t0+400000)
	}
	for ts := t0; ts < t0+600000; ts += 100 {
		if !running(ts) {
			continue
		}
		part := 0
		if ts >= t0+260000 {
			part = 1
		}
		for _, inst := range []string{"BTC-USDT", "ETH-USDT"} {
			if ts >= t0+50000 && ts < t0+52000 {
				continue
			}
			f.add(part, &schema.Ticker{Header: hdr(next(), "tickers", inst, ts, 5), Last: 1})
			counts[[3]string{"tickers", "tickers", inst}]++
		}
		// The trades outage window holds rows anyway: another recorder's, merged in.
		f.add(part, &schema.Trade{Header: hdr(next(), "trades", "BTC-USDT", ts, 3), Px: 1, Sz: 1, Side: "buy"})
		counts[[3]string{"trades", "trades", "BTC-USDT"}]++
	}
	// Five ticker rows of part 0 written again in part 1 (a re-written file): duplicates.
	for _, e := range f[schema.TableOf(schema.KindTicker)][0][100:105] {
		f.add(1, e)
		counts[[3]string{"tickers", "tickers", e.Hdr().InstID}]++
	}
	book := func(action string, seqID, prev, checksum int64, ts int64) {
		f.add(0, &schema.Book{Header: hdr(next(), "books", "BTC-USDT", ts, 2), Action: action, SeqID: seqID, PrevSeqID: prev,
			Checksum: checksum, Bids: []schema.Level{{Px: 1, Sz: 1}}, Asks: []schema.Level{{Px: 2, Sz: 1}}})
		counts[[3]string{"books", "books", "BTC-USDT"}]++
	}
	book(schema.ActionSnapshot, 10, -1, 7, t0+1000)
	for i := int64(11); i <= 20; i++ {
		book(schema.ActionUpdate, i, i-1, 0, t0+1000+i)
	}
	book(schema.ActionUpdate, 26, 25, 9, t0+29000) // a stored break
	book(schema.ActionSnapshot, 30, -1, 8, t0+31500)
	book(schema.ActionUpdate, 31, 30, 0, t0+31600)
	f.add(0, &schema.Quote{Header: hdr(next(), "books", "BTC-USDT", t0+31600, 2), BidPx: 3, AskPx: 2})
	f.add(0, &schema.Quote{Header: hdr(next(), "books", "BTC-USDT", t0+31700, 2), BidPx: math.NaN(), AskPx: 2})
	counts[[3]string{"quotes", "books", "BTC-USDT"}] += 2
	return f, counts
}

func TestBuilderFigures(t *testing.T) {
	f, counts := sessionsFixture()
	r := f.build(Options{FromMs: t0, ToMs: t0 + 600000, Source: "test", CrossPartDuplicates: true})

	got := map[[3]string]uint64{}
	cov := map[[3]string]Coverage{}
	for _, c := range r.Coverage {
		k := [3]string{c.Dataset, c.Channel, c.InstID}
		got[k] += c.Events
		cov[k] = c
	}
	for k, n := range counts {
		if got[k] != n {
			t.Errorf("coverage events %v: %d, fed %d", k, got[k], n)
		}
	}
	if d := cov[[3]string{"tickers", "tickers", "BTC-USDT"}].Duplicates + cov[[3]string{"tickers", "tickers", "ETH-USDT"}].Duplicates; d != 5 {
		t.Errorf("duplicates: %d, want 5", d)
	}
	tb := cov[[3]string{"tickers", "tickers", "BTC-USDT"}]
	// Uncovered: the 2 s outage, 60 s between s1's stop and s2's start, s2's crash from its last event
	// (399.9 s) to s3's start (500 s).
	want := 1 - (2000.0+60000+100100)/600000
	if math.Abs(tb.CoverageRatio-want) > 1e-4 {
		t.Errorf("tickers BTC-USDT coverage %.6f, want %.6f", tb.CoverageRatio, want)
	}
	// 10 a second; the bucket holding the five duplicates has 636 a minute.
	if tb.RatePerMin.Max != 636 || tb.RatePerMin.Median != 600 || tb.RatePerMin.Min != 0 {
		t.Errorf("tickers BTC-USDT rate per minute %+v, want min 0, median 600, max 636", tb.RatePerMin)
	}
	if tb.FirstTsMs != t0 || tb.LastTsMs != t0+399900 {
		t.Errorf("first/last ts %d %d", tb.FirstTsMs-t0, tb.LastTsMs-t0)
	}

	verdict := map[[2]string]Verdict{}
	for _, v := range r.Verdicts {
		verdict[[2]string{v.Channel, v.InstID}] = v
	}
	for k, w := range map[[2]string]string{
		{"tickers", "BTC-USDT"}: HasGaps, {"tickers", "ETH-USDT"}: HasGaps, {"trades", "BTC-USDT"}: HasGaps,
		{"trades", "ETH-USDT"}: NoData, {"books", "BTC-USDT"}: HasGaps, {"books", "ETH-USDT"}: NoData,
	} {
		if verdict[k].Verdict != w {
			t.Errorf("verdict %v: %q, want %q", k, verdict[k].Verdict, w)
		}
	}
	if len(r.Verdicts) != 6 {
		t.Errorf("%d verdicts, want 6: %+v", len(r.Verdicts), r.Verdicts)
	}
	// tickers: the outage, not-recording, crash; trades: not-recording and crash (its outage was covered).
	if v := verdict[[2]string{"tickers", "BTC-USDT"}]; v.Gaps != 3 {
		t.Errorf("tickers BTC-USDT gaps %d, want 3", v.Gaps)
	}
	if v := verdict[[2]string{"trades", "BTC-USDT"}]; v.Gaps != 2 {
		t.Errorf("trades BTC-USDT gaps %d, want 2", v.Gaps)
	}

	byReason := map[string][]Gap{}
	for _, g := range r.Gaps {
		byReason[g.Reason] = append(byReason[g.Reason], g)
	}
	if len(r.Gaps) != 6 || len(byReason[schema.GapDisconnect]) != 2 || len(byReason[ReasonNotRecording]) != 1 ||
		len(byReason[ReasonCrash]) != 1 || len(byReason[schema.GapSequence]) != 1 || len(byReason[schema.GapResync]) != 1 {
		t.Fatalf("gaps: %+v", r.Gaps)
	}
	for _, g := range byReason[schema.GapDisconnect] {
		if want := g.Conn == "public#1"; g.CoveredByOther != want {
			t.Errorf("gap on %s covered by another recorder: %v, want %v (%d events inside)", g.Conn, g.CoveredByOther, want, g.CoveredEvents)
		}
		if g.Scope != ScopeConnection {
			t.Errorf("disconnect scope %q", g.Scope)
		}
	}
	if c := byReason[ReasonCrash][0]; c.StartMs != t0+399900 || c.EndMs != t0+500000 || c.Scope != ScopeRecorder {
		t.Errorf("crash gap %+v", c)
	}
	if g := byReason[schema.GapSequence][0]; g.Scope != ScopeInstrument || g.InstID != "BTC-USDT" {
		t.Errorf("sequence gap %+v", g)
	}

	if len(r.Books) != 1 {
		t.Fatalf("books %+v", r.Books)
	}
	bk := r.Books[0]
	if bk.Snapshots != 2 || bk.Updates != 12 || bk.SeqBreaks != 1 || bk.Resyncs != 1 || bk.StoredChainBreaks != 1 ||
		bk.ChecksumsVerified != 3 || bk.CrossedQuotes != 1 {
		t.Errorf("books %+v", bk)
	}
	lag := map[string]Latency{}
	for _, l := range r.Latency {
		lag[l.Channel] = l
	}
	if l := lag["tickers"]; math.Abs(l.P50-5) > 0.1 || math.Abs(l.P99-5) > 0.1 || l.Samples != counts[[3]string{"tickers", "tickers", "BTC-USDT"}]+counts[[3]string{"tickers", "tickers", "ETH-USDT"}] {
		t.Errorf("tickers lag %+v", l)
	}
	if l := lag["books"]; l.Samples != 14 {
		t.Errorf("books lag counts book rows only (not derived quotes): %+v", l)
	}
	if len(r.Sessions) != 3 || !r.Sessions[0].Clean || r.Sessions[1].Clean {
		t.Errorf("sessions %+v", r.Sessions)
	}
	if r.BucketSeconds != 5 || len(r.Series.Rates) != 4 || len(r.Series.Rates[0].PerMin) != 120 {
		t.Errorf("series: bucket %d s, %d rate series", r.BucketSeconds, len(r.Series.Rates))
	}
}

// Without cross-part detection (ClickHouse reads are deduplicated), rows in a later part are not duplicates;
// within a part, the same seq twice is.
func TestDuplicatesWithinPart(t *testing.T) {
	f := fixture{}
	for i := uint64(1); i <= 3; i++ {
		e := &schema.Trade{Header: hdr(i, "trades", "X-Y", t0+int64(i), 1)}
		f.add(0, e)
		f.add(0, e)
		f.add(1, e)
	}
	r := f.build(Options{FromMs: t0, ToMs: t0 + 1000})
	if len(r.Coverage) != 1 || r.Coverage[0].Duplicates != 3 || r.Coverage[0].Events != 9 {
		t.Errorf("coverage %+v", r.Coverage)
	}
}

func TestBucketWidth(t *testing.T) {
	for _, c := range []struct{ span, want int64 }{
		{14000, 1000}, {3600000, 15000}, {86400000, 60000}, {48 * 3600000, 60000}, {30 * 86400000, 900000},
	} {
		if got := bucketWidth(c.span); got != c.want {
			t.Errorf("bucketWidth(%d) = %d, want %d", c.span, got, c.want)
		}
	}
}

func TestParseArgs(t *testing.T) {
	g := gapState{Gap: Gap{Scope: ScopeConnection}, args: parseArgs("ping timeout: tickers:BTC-USDT,orders:ANY,candle1m:ETH-USDT,opt-summary:BTC-USD")}
	for _, c := range []struct {
		ch, inst string
		want     bool
	}{{"tickers", "BTC-USDT", true}, {"tickers", "ETH-USDT", false}, {"orders", "BTC-USDT-SWAP", true},
		{"candle1m", "ETH-USDT", true}, {"books", "BTC-USDT", false}, {"opt-summary", "BTC-USD-261225-90000-C", true},
		{"opt-summary", "BTC-USDT", false}} {
		if got := g.applies(c.ch, c.inst); got != c.want {
			t.Errorf("applies(%s, %s) = %v", c.ch, c.inst, got)
		}
	}
	if all := (Gap{Scope: ScopeConnection, Detail: ""}); !all.applies("anything", "X") {
		t.Error("a connection gap without subscriptions applies to every stream")
	}
}

// The ledger's free-text detail never makes the parser panic, and a parsed subscription always applies to
// its own stream.
func FuzzParseArgs(f *testing.F) {
	for _, s := range []string{"tickers:BTC-USDT,books:ETH-USDT", "ping timeout: trades:X-Y", "", ":", ",,", "a: b: c:d", "orders:ANY"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, detail string) {
		g := gapState{Gap: Gap{Scope: ScopeConnection, Detail: detail}, args: parseArgs(detail)}
		for _, a := range g.args {
			if a.channel == "" && a.sel == "" {
				continue
			}
			if !g.applies(a.channel, a.sel) {
				t.Fatalf("%q: %+v does not apply to its own stream", detail, a)
			}
		}
	})
}

// A sub-range: the sessions and gaps that began before it still shape it (as replay report reads them,
// LedgerFrom), but only rows inside it are counted.
func TestSubRange(t *testing.T) {
	f, _ := sessionsFixture()
	from, to := t0+250000, t0+450000
	b := NewBuilder(Options{FromMs: from, ToMs: to})
	var tickers uint64
	for _, tb := range Tables() {
		for _, part := range f[tb] {
			for _, e := range part {
				if isLedger(tb) || (e.Hdr().Ts >= from && e.Hdr().Ts < to) {
					b.Add(tb, e)
					if tb.Kind == schema.KindTicker && e.Hdr().InstID == "BTC-USDT" {
						tickers++
					}
				}
			}
			b.PartDone()
		}
	}
	r := b.Report()
	ids := []string{}
	for _, s := range r.Sessions {
		ids = append(ids, s.ID)
	}
	if len(ids) != 1 || ids[0] != "s2" {
		t.Errorf("sessions running in the range: %v, want s2 (s1 stopped at 200 s, s3 starts at 500 s)", ids)
	}
	reasons := map[string]int{}
	for _, g := range r.Gaps {
		reasons[g.Reason]++
	}
	// Idle 250–260 s (s1 stopped at 200 s, read from before the range), the crash from 399.9 s.
	if reasons[ReasonNotRecording] != 1 || reasons[ReasonCrash] != 1 || reasons[schema.GapDisconnect] != 0 {
		t.Errorf("gaps in the sub-range: %v", reasons)
	}
	for _, c := range r.Coverage {
		if c.Ledger && c.Dataset == "sessions" && c.Events != 1 {
			t.Errorf("session rows with ts in the range: %d, want 1 (s2's start)", c.Events)
		}
		if c.Dataset == "tickers" && c.InstID == "BTC-USDT" && c.Events != tickers {
			t.Errorf("tickers %d, fed %d", c.Events, tickers)
		}
	}
}

// Many instruments turn the verdict grid (instruments down), and the text summary stays short.
func TestManyInstruments(t *testing.T) {
	f := fixture{}
	for i := range 30 {
		inst := fmt.Sprintf("I%02d-USDT", i)
		f.add(0, &schema.Gap{Header: hdr(uint64(1000+i), "books", inst, t0+10, 0), FromMs: t0 + 10, ToMs: t0 + 20, Reason: schema.GapSequence})
		f.add(0, &schema.Book{Header: hdr(uint64(i+1), "books", inst, t0+int64(i), 1), Action: schema.ActionSnapshot})
	}
	r := f.build(Options{FromMs: t0, ToMs: t0 + 1000})
	var html, text strings.Builder
	if err := WriteHTML(&html, r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(html.String(), `<tr><th class="inst">I07-USDT</th>`) || !strings.Contains(html.String(), "<th>instrument</th>") {
		t.Error("30 instruments × 1 channel: the grid should list instruments down")
	}
	if err := WriteSummary(&text, r); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(text.String(), "\n"); n > 30 || !strings.Contains(text.String(), "and 10 more") {
		t.Errorf("summary of %d lines:\n%s", n, text.String())
	}
}

// Thousands of gaps: the page merges marks closer than a pixel and lists the longest 2000; the JSON keeps all.
func TestManyGaps(t *testing.T) {
	f := fixture{}
	for i := range 5000 {
		from := t0 + int64(i)*100
		f.add(0, &schema.Gap{Header: hdr(uint64(i+1), "books", "X-Y", from, 0), FromMs: from, ToMs: from + 10 + int64(i%7),
			Reason: schema.GapSequence})
	}
	f.add(0, &schema.Book{Header: hdr(9999, "books", "X-Y", t0, 1), Action: schema.ActionSnapshot})
	r := f.build(Options{FromMs: t0, ToMs: t0 + 500000})
	if len(r.Gaps) != 5000 {
		t.Fatalf("%d gaps in the report, want 5000", len(r.Gaps))
	}
	var html strings.Builder
	if err := WriteHTML(&html, r); err != nil {
		t.Fatal(err)
	}
	page := html.String()
	if n := strings.Count(page, `<tr class="r-sequence">`); n != maxGapRows {
		t.Errorf("%d gap rows on the page, want %d", n, maxGapRows)
	}
	if n := strings.Count(page, `<rect class="gap"`); n == 0 || n > plotW {
		t.Errorf("%d gap marks on a %d px timeline", n, plotW)
	}
	if len(page) > 2<<20 {
		t.Errorf("page of %d bytes", len(page))
	}
}
