package report

import (
	"sort"
	"strings"
	"time"

	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/schema/channels"
)

// Options configure a Builder.
type Options struct {
	FromMs, ToMs int64    // the range [FromMs, ToMs), Unix ms
	Insts        []string // the selection, if any: verdict rows are listed for it even without data
	Channels     []string
	Source       string // shown in the report, e.g. "parquet:./data"
	// CrossPartDuplicates detects duplicate rows across parts (Parquet files re-written after a crash);
	// ClickHouse reads are deduplicated by FINAL already.
	CrossPartDuplicates bool
	MaxGaps             int       // gap rows kept for listing (default 100000); the rest are only counted
	Now                 time.Time // the report's generation time (default time.Now)
}

// Builder accumulates a report from stored rows. Feed it every table returned by Tables, in that order (the
// ledgers first: gaps must be known before the events they may be covered by), each table's rows in stored
// order with PartDone after each part, then call Report. Memory is bounded by the number of streams times
// the number of time buckets (at most maxBuckets) plus the listed gaps, whatever the number of rows.
// A Builder is not safe for concurrent use.
type Builder struct {
	o        Options
	bucketMs int64
	nb       int

	streams  map[streamKey]*stream // per (dataset, channel, instrument)
	touched  []*stream             // streams seen in the current part
	vstreams map[chanInst]*vstream // per (channel, instrument), primary datasets only
	lags     map[string]*lagStat
	books    map[chanInst]*Books
	bookSeq  map[chanInst]int64 // last stored seqId per book stream

	gaps      []*gapState
	gapCounts map[string]uint64
	omitted   uint64
	sessions  map[string]*schema.Session
	sessOrder []*sessionState // sorted by start once data begins
	dataBegun bool
}

// maxBuckets caps the per-stream series: up to 48 h the buckets are at most one minute wide, beyond that
// wider.
const maxBuckets = 2880

// bucketWidth picks the series' bucket width for a range: the narrowest of 1 s … 1 min that gives at most
// 240 buckets (so short recordings still draw a curve), one minute up to maxBuckets, wider beyond.
func bucketWidth(span int64) int64 {
	for _, w := range []int64{1000, 2000, 5000, 10000, 15000, 30000} {
		if span <= 240*w {
			return w
		}
	}
	if span <= maxBuckets*60000 {
		return 60000
	}
	return (span/maxBuckets + 59999) / 60000 * 60000
}

type streamKey struct {
	table         *schema.Table
	channel, inst string
}

type chanInst struct{ channel, inst string }

// stream is one (dataset, channel, instrument).
type stream struct {
	key             streamKey
	events          uint64
	first, last     int64
	buckets         []uint32
	dups            uint64
	lastSeq         uint64
	prevMax         map[int64]uint64 // per UTC day: the largest seq of earlier parts
	curMax          map[int64]uint64 // per UTC day: the largest seq of the current part
	touchedThisPart bool
}

// vstream is one (channel, instrument) across its primary datasets: the unit of verdicts and gap coverage.
type vstream struct {
	id     int
	key    chanInst
	events uint64
	gaps   []int // ledger gaps that apply, by start
}

type lagStat struct {
	sk  Sketch
	neg uint64
	sum []float64
	cnt []uint32
	max []float32
}

type sessionState struct {
	s         *schema.Session
	lastEvent int64 // the last primary event's ts between this session's start and the next one's
}

// Tables returns every stored table (schema.Tables), the gap and session ledgers first.
func Tables() []*schema.Table {
	var ledgers, data []*schema.Table
	for _, t := range schema.Tables() {
		if isLedger(t) {
			ledgers = append(ledgers, t)
		} else {
			data = append(data, t)
		}
	}
	return append(ledgers, data...)
}

func isLedger(t *schema.Table) bool { return t.Kind == schema.KindGap || t.Kind == schema.KindSession }

// auxiliary tables are counted in coverage but not as a channel's events: raw frames repeat the events, and
// the registry's derived kinds (quotes from books) and the derived datasets (book_snapshots, trade_bars) are
// computed from them.
func isAuxiliary(t *schema.Table) bool {
	return t.Kind == schema.KindRaw || derivedKinds[t.Kind] || t.Derived
}

var derivedKinds = func() map[schema.Kind]bool {
	m := map[schema.Kind]bool{}
	for _, e := range channels.All() {
		for _, k := range e.Derived {
			m[k] = true
		}
	}
	return m
}()

// ExchangeTimed reports whether the ts of rows of this table and channel is the exchange's time of the event:
// not for candles (the bar start), raw frames (the receive time) and the ledgers. Rates and gap coverage of
// the others use their receive time, and they have no lag.
func ExchangeTimed(t *schema.Table, channel string) bool {
	return !isLedger(t) && t.Kind != schema.KindRaw && !barTimed(t, channel)
}

// barTimed reports rows stamped with their bar's start (candles of any kind).
func barTimed(t *schema.Table, channel string) bool {
	return t.Kind == schema.KindCandle || strings.Contains(t.Name, "candle") || strings.Contains(channel, "candle")
}

// RangeTable reports whether a table's stored ts bounds may define the report's default range: all but the
// bar-stamped ones, whose first bar starts before the recording did.
func RangeTable(t *schema.Table) bool { return !barTimed(t, "") }

// NewBuilder returns a Builder for the range in o.
func NewBuilder(o Options) *Builder {
	if o.MaxGaps <= 0 {
		o.MaxGaps = 100000
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	// Open or absurd bounds are clipped to 1970 .. year 2255, so the span cannot overflow.
	o.FromMs, o.ToMs = min(max(o.FromMs, 0), 1<<53), min(max(o.ToMs, 0), 1<<53)
	if o.ToMs <= o.FromMs {
		o.ToMs = o.FromMs + 1
	}
	span := o.ToMs - o.FromMs
	bucket := bucketWidth(span)
	return &Builder{o: o, bucketMs: bucket, nb: int((span + bucket - 1) / bucket),
		streams: map[streamKey]*stream{}, vstreams: map[chanInst]*vstream{}, lags: map[string]*lagStat{},
		books: map[chanInst]*Books{}, bookSeq: map[chanInst]int64{}, gapCounts: map[string]uint64{},
		sessions: map[string]*schema.Session{}}
}

func (b *Builder) bucket(ts int64) int {
	i := int((ts - b.o.FromMs) / b.bucketMs)
	return min(max(i, 0), b.nb-1)
}

// Add accounts one stored row of table t. The event is not kept.
func (b *Builder) Add(t *schema.Table, e schema.Stored) {
	h := e.Hdr()
	at := h.Ts
	if !ExchangeTimed(t, h.Channel) && h.RecvNs > 0 {
		at = h.RecvNs / 1e6
	}
	if isLedger(t) && (h.Ts < b.o.FromMs || h.Ts >= b.o.ToMs) {
		// A session or gap that began before the range (LedgerFrom reads them) still shapes it; it is not
		// one of the range's rows.
		b.addLedger(e, false)
		return
	}
	s := b.stream(t, h.Channel, h.InstID)
	s.count(b, h, at)
	if isLedger(t) {
		b.addLedger(e, true)
		return
	}
	switch ev := e.(type) {
	case *schema.Book:
		b.addBook(ev)
	case *schema.Quote:
		if ev.BidPx >= ev.AskPx { // NaN compares false: a one-sided book is not crossed
			b.book(h.Channel, h.InstID).CrossedQuotes++
		}
	}
	if isAuxiliary(t) {
		return
	}
	if !b.dataBegun {
		b.beginData()
	}
	v := b.vstream(h.Channel, h.InstID)
	v.events++
	b.inside(v, at)
	b.touchSession(at)
	if ExchangeTimed(t, h.Channel) && h.RecvNs > 0 {
		b.addLag(h)
	}
}

func (b *Builder) addLedger(e schema.Stored, inRange bool) {
	switch ev := e.(type) {
	case *schema.Gap:
		if inRange || ev.ToMs > b.o.FromMs {
			b.addGap(ev)
		}
	case *schema.Session:
		if old := b.sessions[ev.SessionID]; old == nil || ev.EndMs > old.EndMs {
			b.sessions[ev.SessionID] = schema.Clone(ev).(*schema.Session)
		}
	}
}

// LedgerFrom returns where to start reading table t for a report from from: the session ledger from its
// beginning (a session running through the range began before it, and the order of sessions tells idle
// and crashed time), the gap ledger a day early (an outage that began before the range), the rest at from.
func LedgerFrom(t *schema.Table, from time.Time) time.Time {
	switch {
	case from.IsZero():
		return from
	case t.Kind == schema.KindSession:
		return time.Time{}
	case t.Kind == schema.KindGap:
		return from.Add(-24 * time.Hour)
	}
	return from
}

// PartDone marks the end of one part of a table (for duplicate detection across parts).
func (b *Builder) PartDone() {
	for _, s := range b.touched {
		for d, m := range s.curMax {
			s.prevMax[d] = max(s.prevMax[d], m)
			delete(s.curMax, d)
		}
		s.touchedThisPart = false
		s.lastSeq = 0
	}
	b.touched = b.touched[:0]
}

func (b *Builder) stream(t *schema.Table, channel, inst string) *stream {
	k := streamKey{t, channel, inst}
	s := b.streams[k]
	if s == nil {
		s = &stream{key: k, prevMax: map[int64]uint64{}, curMax: map[int64]uint64{}}
		b.streams[k] = s
	}
	if !s.touchedThisPart {
		s.touchedThisPart = true
		b.touched = append(b.touched, s)
	}
	return s
}

// count accounts a row whose time for rates and gaps is at (its ts, or its receive time when ts is not
// the time of the event).
func (s *stream) count(b *Builder, h *schema.Header, at int64) {
	if s.events == 0 || h.Ts < s.first {
		s.first = h.Ts
	}
	if s.events == 0 || h.Ts > s.last {
		s.last = h.Ts
	}
	s.events++
	if s.buckets == nil {
		s.buckets = make([]uint32, b.nb)
	}
	s.buckets[b.bucket(at)]++
	// Rows of a part are in (ts, seq) order per stream, and within one UTC day the parts of a dataset are
	// in arrival order: a seq equal to the previous row's, or not above an earlier part's, was stored twice.
	seq := h.Seq
	day := h.Ts / 86400000
	if (s.lastSeq != 0 && seq == s.lastSeq) || (b.o.CrossPartDuplicates && seq <= s.prevMax[day] && s.prevMax[day] != 0) {
		s.dups++
	}
	s.lastSeq = seq
	if seq > s.curMax[day] {
		s.curMax[day] = seq
	}
}

func (b *Builder) vstream(channel, inst string) *vstream {
	k := chanInst{channel, inst}
	v := b.vstreams[k]
	if v == nil {
		v = &vstream{id: len(b.vstreams), key: k}
		for i, g := range b.gaps {
			if g.applies(channel, inst) {
				v.gaps = append(v.gaps, i)
			}
		}
		sort.SliceStable(v.gaps, func(i, j int) bool { return b.gaps[v.gaps[i]].StartMs < b.gaps[v.gaps[j]].StartMs })
		b.vstreams[k] = v
	}
	return v
}

func (b *Builder) addBook(e *schema.Book) {
	k := chanInst{e.Channel, e.InstID}
	bk := b.book(e.Channel, e.InstID)
	if e.Checksum != 0 {
		bk.ChecksumsVerified++
	}
	if e.Action == schema.ActionSnapshot {
		bk.Snapshots++
	} else {
		bk.Updates++
		if last, ok := b.bookSeq[k]; ok && e.PrevSeqID != last {
			bk.StoredChainBreaks++
		}
	}
	b.bookSeq[k] = e.SeqID
}

func (b *Builder) book(channel, inst string) *Books {
	k := chanInst{channel, inst}
	bk := b.books[k]
	if bk == nil {
		bk = &Books{Channel: channel, InstID: inst}
		b.books[k] = bk
	}
	return bk
}

func (b *Builder) addLag(h *schema.Header) {
	l := b.lags[h.Channel]
	if l == nil {
		l = &lagStat{sum: make([]float64, b.nb), cnt: make([]uint32, b.nb), max: make([]float32, b.nb)}
		b.lags[h.Channel] = l
	}
	ms := float64(h.RecvNs-h.Ts*1e6) / 1e6
	if ms < 0 {
		l.neg++
		ms = 0
	}
	l.sk.Add(ms)
	i := b.bucket(h.Ts)
	l.sum[i] += ms
	l.cnt[i]++
	l.max[i] = max(l.max[i], float32(ms))
}

// beginData freezes the session order (the ledgers have all been read).
func (b *Builder) beginData() {
	b.dataBegun = true
	for _, s := range b.sessions {
		b.sessOrder = append(b.sessOrder, &sessionState{s: s, lastEvent: s.StartMs})
	}
	sort.Slice(b.sessOrder, func(i, j int) bool { return b.sessOrder[i].s.StartMs < b.sessOrder[j].s.StartMs })
}

// touchSession records ts as the latest event of the session that was running then.
func (b *Builder) touchSession(ts int64) {
	n := len(b.sessOrder)
	if n < 2 {
		return
	}
	i := sort.Search(n, func(i int) bool { return b.sessOrder[i].s.StartMs > ts }) - 1
	if i >= 0 {
		b.sessOrder[i].lastEvent = max(b.sessOrder[i].lastEvent, ts)
	}
}
