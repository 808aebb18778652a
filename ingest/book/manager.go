package book

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/okxtape/okxtape/ingest/decode"
	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/schema/channels"
)

// Resyncer recovers a broken book; the WebSocket client implements it.
//
// Concurrency: Resubscribe is called from the goroutine that called Apply (the connection's read goroutine),
// after Apply has emitted its events and with no Manager lock held, so it may take the client's locks and
// call Reset; it should only queue or write the frames, not wait for the new snapshot. Snapshot is called
// from a timer goroutine with no Manager lock held and may block (HTTP); it must honour ctx, which is
// cancelled by Close.
type Resyncer interface {
	// Resubscribe unsubscribes and resubscribes one (channel, instId) on its connection; a fresh snapshot
	// follows. It costs two of the connection's 480 requests per hour; an error (e.g. the client's own
	// budget is spent) makes the Manager fall back to a REST snapshot at once.
	Resubscribe(channel, instID string) error
	// Snapshot fetches GET /api/v5/market/books?instId=&sz=400 and returns the book (SeqID set when the
	// server gives one; a snapshot without seqId cannot be joined and is retried) and its strings, which
	// the Manager then owns: it sets Channel, InstID, Action and PrevSeqID and emits the book.
	Snapshot(ctx context.Context, instID string) (*schema.Book, *decode.BookRaw, error)
}

// Options configure a Manager. Zero values take the documented defaults.
type Options struct {
	// Emit receives, in order, each valid *schema.Book followed by its *schema.Quote, and the *schema.Gap
	// rows of incidents. Required. Events are valid only during the call (the Book is the caller's, the
	// Quote is reused). Emit must not call Apply (it runs under the Manager's emission lock; Stats, View
	// and Reset are fine).
	Emit func(schema.Event)
	// Resync recovers broken books. Nil: broken books wait for the next snapshot that arrives by itself.
	Resync Resyncer
	// Conn labels gaps (schema.Gap.Conn), e.g. "public#0".
	Conn string
	// SnapshotTimeout is how long to wait for the WebSocket snapshot after a resubscribe (or after the
	// first update of a book that had no snapshot) before fetching a REST snapshot (default 3 s).
	SnapshotTimeout time.Duration
	// MaxRetryDelay caps the doubling delay between failed REST snapshot attempts (default 1 min).
	MaxRetryDelay time.Duration
	// RequestsPerHour is this manager's resubscribe budget in WebSocket requests (a resubscribe costs 2:
	// unsubscribe + subscribe), refilled continuously; default 480, OKX's per-connection limit, which the
	// client's own subscriptions share (give the manager a smaller share if they are many). Negative: never
	// resubscribe, always recover by REST.
	RequestsPerHour int
	// RequestBurst is the bucket size in requests (default RequestsPerHour/12, at least 2).
	RequestBurst int
	// AllowCrossed accepts crossed books (OKX: legitimate during call auction / pre-open). Default false:
	// a crossed book is an incident, like a checksum mismatch. Crossed books are counted either way.
	AllowCrossed bool
	// MaxBuffered bounds the updates kept per book while recovering (default 1000); the oldest are
	// dropped first.
	MaxBuffered int
	// MaxLevels bounds each side of each book (default 1000; see Book.MaxLevels).
	MaxLevels int
	// Logger receives incident logs: the first of each kind at Warn, later ones at Debug (default slog.Default()).
	Logger *slog.Logger
	// Now is the clock for gap receive times and the request budget (default time.Now).
	Now func() time.Time
	// AfterFunc schedules f after d on another goroutine and returns its stop function (default
	// time.AfterFunc). It must never run f synchronously, nor under a lock that Emit takes (so not
	// engine.After, whose callbacks hold the dispatch lock).
	AfterFunc func(d time.Duration, f func()) (stop func() bool)
}

func (o *Options) setDefaults() {
	if o.Emit == nil {
		o.Emit = func(schema.Event) {}
	}
	if o.SnapshotTimeout <= 0 {
		o.SnapshotTimeout = 3 * time.Second
	}
	if o.MaxRetryDelay <= 0 {
		o.MaxRetryDelay = time.Minute
	}
	if o.RequestsPerHour == 0 {
		o.RequestsPerHour = 480
	}
	if o.RequestBurst <= 0 {
		o.RequestBurst = max(o.RequestsPerHour/12, 2)
	}
	if o.MaxBuffered <= 0 {
		o.MaxBuffered = 1000
	}
	if o.MaxLevels <= 0 {
		o.MaxLevels = 1000
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.AfterFunc == nil {
		o.AfterFunc = func(d time.Duration, f func()) func() bool { return time.AfterFunc(d, f).Stop }
	}
}

// Manager keeps one validated Book per (channel, instId), checks OKX's seqId chain and checksum, emits
// valid messages with their top-of-book Quote, ledgers each incident with exactly two gaps (detection,
// then "resync" when rebuilt) and drives recovery: one resubscribe per incident within a request budget,
// then a REST snapshot joined to the buffered updates by seqId if no WebSocket snapshot came in time.
//
// Concurrency: all methods are safe for concurrent use. Apply, Reset and ResetAll are meant for the
// connection's read goroutine; REST recovery completes on a timer goroutine. State is guarded by an
// internal mutex that is never held while calling Emit or the Resyncer. A second, emission lock is held
// from the start of processing a message until its events are emitted, so events leave in processing
// order; hence Emit must not call Apply, and AfterFunc must not run callbacks under a lock Emit takes.
// One Manager per connection matches OKX's per-connection request budget.
type Manager struct {
	o      Options
	ctx    context.Context
	cancel context.CancelFunc

	emitMu sync.Mutex // serialises processing+emission; guards out, quotes, nq, resub
	out    []schema.Event
	quotes []*schema.Quote
	nq     int
	resub  []resubReq

	mu     sync.Mutex // guards everything below and every bookState
	books  map[bookKey]*bookState
	budget bucket
	closed bool
	logged map[string]bool

	c counters
}

type bookKey struct{ channel, instID string }

type phase uint8

const (
	phaseAwait   phase = iota // no valid book: waiting for a snapshot
	phaseJoining              // REST snapshot applied, waiting for the first update that links to it
	phaseLive
)

type bookState struct {
	channel, instID string
	standalone      bool // books5, bbo-tbt: every message is a full snapshot, no chain
	wsOnly          bool // books-rpi, books-elp: REST serves another book, so only a WebSocket snapshot rebuilds it
	book            Book
	phase           phase
	last            int64 // seqId of the last applied message
	lastPrev        int64 // its prevSeqId (-1 for a snapshot): recognises a repeat of a sequence reset
	lastTs          int64 // ts of the last good message
	repeats         int   // consecutive stale or repeated messages since the last good one

	// The floor (stale.go): the seqId and ts of the last row emitted. Kept across incidents, so that no
	// connection's message takes the emitted book back in seqId; cleared by Reset and by an unseen reset.
	sent, sentTs int64
	floor        bool // sent binds
	under        int  // snapshots refused below the floor since the book was last good

	incident bool   // a detection gap was emitted and its resync gap is due
	reason   string // of the open incident
	fromMs   int64  // start of the blind window

	epoch   uint64 // bumped to invalidate a scheduled timer or REST fetch
	pending bool   // a timer or REST fetch of this epoch is in flight
	stop    func() bool
	tries   int          // consecutive failed snapshot attempts
	buf     []*entry     // updates kept for a REST join, oldest first
	snap    *schema.Book // phaseJoining: the REST snapshot, emitted when an update links
	snapQ   schema.Quote // its top of book
}

// NewManager returns a Manager with no books.
func NewManager(o Options) *Manager {
	o.setDefaults()
	m := &Manager{o: o, books: make(map[bookKey]*bookState), logged: make(map[string]bool)}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	m.budget = bucket{rate: float64(o.RequestsPerHour) / 3600, burst: float64(o.RequestBurst),
		tokens: float64(o.RequestBurst)}
	return m
}

// IsStandalone reports depth channels whose every message is a full snapshot without a seqId chain (the
// registry's non-incremental book channels).
func IsStandalone(channel string) bool {
	e := channels.Lookup(channel)
	return e != nil && e.Book != nil && !e.Book.Incremental
}

// wsOnly reports incremental depth channels whose book is not the one REST serves (registry OrganicOnly false).
func wsOnly(channel string) bool {
	e := channels.Lookup(channel)
	return e != nil && e.Book != nil && e.Book.Incremental && !e.Book.OrganicOnly
}

// Apply validates and applies one book message and emits the results (see Manager). b and raw belong to
// the caller and are not retained (updates buffered during recovery are copied); raw may be nil, then
// checksums are computed from formatted floats.
func (m *Manager) Apply(b *schema.Book, raw *decode.BookRaw) {
	if b == nil {
		return
	}
	m.emitMu.Lock()
	defer m.flush() // runs after mu is released
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return
	}
	st := m.state(b.Channel, b.InstID)
	switch {
	case m.stale(st, b):
		return
	case st.standalone:
		st.book.ApplySnapshot(b.Bids, b.Asks, raw)
		if !m.verify(st, b) {
			m.good(st, b, "next snapshot")
		}
	case b.Action == schema.ActionSnapshot || b.PrevSeqID == -1:
		m.cancelRecovery(st)
		st.book.ApplySnapshot(b.Bids, b.Asks, raw)
		if !m.verify(st, b) {
			m.good(st, b, "websocket snapshot")
		}
	default:
		m.update(st, b, raw, nil)
	}
}

func (m *Manager) state(channel, instID string) *bookState {
	if st := m.books[bookKey{channel, instID}]; st != nil {
		return st
	}
	channel, instID = strings.Clone(channel), strings.Clone(instID)
	st := &bookState{channel: channel, instID: instID, standalone: IsStandalone(channel), wsOnly: wsOnly(channel)}
	st.book.MaxLevels = m.o.MaxLevels
	m.books[bookKey{channel, instID}] = st
	m.c.books.Add(1)
	return st
}

// update handles an incremental message (e is its buffered copy when it comes from the buffer).
func (m *Manager) update(st *bookState, b *schema.Book, raw *decode.BookRaw, e *entry) {
	heartbeat := b.SeqID == b.PrevSeqID && len(b.Bids) == 0 && len(b.Asks) == 0
	switch st.phase {
	case phaseLive:
		// A heartbeat repeated by the other connection of a handover: the same seqId and ts as the heartbeat
		// just applied (the next genuine one has a later ts).
		copied := heartbeat && b.SeqID == st.last && st.lastPrev == st.last && b.Ts <= st.lastTs
		switch {
		case b.PrevSeqID == st.last && !copied: // normal, heartbeat, reset after maintenance
		case copied, b.SeqID <= st.last && b.PrevSeqID < st.last,
			b.SeqID == st.last && b.PrevSeqID == st.lastPrev: // a repeat, also of a reset (seqId < prevSeqId)
			m.duplicate(1)
			m.repeated(st, b)
			return
		default:
			m.c.sequenceGaps.Add(1)
			m.incident(st, b, schema.GapSequence, fmt.Sprintf("prevSeqId %d, last seqId %d, seqId %d",
				b.PrevSeqID, st.last, b.SeqID))
			m.buffer(st, b, raw, e) // the first message after the hole; a REST join may use it
			return
		}
	case phaseJoining:
		switch {
		// prevSeqId == snapshot seqId links exactly: a heartbeat, or a sequence reset (seqId < prevSeqId)
		case b.PrevSeqID == st.last || (b.PrevSeqID <= st.last && st.last < b.SeqID):
			m.joined(st)
		case b.SeqID <= st.last:
			m.duplicate(1) // already in the REST snapshot
			return
		default: // the stream is ahead of the snapshot: fetch a newer one
			m.c.snapshotFailures.Add(1)
			st.book.Reset()
			st.phase, st.snap = phaseAwait, nil
			m.arm(st, m.retryDelay(st, true))
			m.buffer(st, b, raw, e)
			return
		}
	default:
		m.await(st, b, raw, e)
		return
	}
	if heartbeat {
		m.c.heartbeats.Add(1)
	}
	st.book.ApplyUpdate(b.Bids, b.Asks, raw)
	if !m.verify(st, b) {
		m.good(st, b, "")
	}
}

// verify checks a freshly applied message; on failure it opens (or continues) an incident and returns true.
func (m *Manager) verify(st *bookState, b *schema.Book) bool {
	if b.Checksum != 0 {
		want, got := int32(b.Checksum), Checksum(&st.book)
		if got != want {
			m.c.checksumFailures.Add(1)
			metricChecksumFailures.Inc()
			m.incident(st, b, schema.GapChecksum, fmt.Sprintf("seqId %d: checksum %d, local book %d",
				b.SeqID, want, got))
			return true
		}
		m.c.checksumsVerified.Add(1)
		metricChecksumsVerified.Inc()
	}
	if st.book.Crossed() {
		m.c.crossed.Add(1)
		if !m.o.AllowCrossed {
			bid, _ := st.book.BestBid()
			ask, _ := st.book.BestAsk()
			m.incident(st, b, schema.GapCrossed, fmt.Sprintf("seqId %d: best bid %v >= best ask %v",
				b.SeqID, bid.Px, ask.Px))
			return true
		}
	}
	return false
}

// good records a valid message and queues it with its quote; a pending incident gets its resync gap first.
func (m *Manager) good(st *bookState, b *schema.Book, via string) {
	if st.incident {
		m.resynced(st, b.Ts, fmt.Sprintf("%s seqId %d", via, b.SeqID))
	}
	st.phase, st.last, st.lastPrev, st.lastTs, st.tries, st.repeats = phaseLive, b.SeqID, b.PrevSeqID, b.Ts, 0, 0
	m.markSent(st, b)
	m.c.applied.Add(1)
	m.out = append(m.out, b, m.quote(st, b))
}

// joined emits the REST snapshot once an update links to it, and goes live.
func (m *Manager) joined(st *bookState) {
	snap := st.snap
	st.snap = nil
	if st.incident {
		m.resynced(st, snap.Ts, fmt.Sprintf("rest snapshot seqId %d", snap.SeqID))
	}
	st.phase, st.lastPrev, st.lastTs, st.tries = phaseLive, -1, snap.Ts, 0
	m.markSent(st, snap)
	q := m.newQuote()
	*q = st.snapQ
	m.out = append(m.out, snap, q)
}

// incident invalidates the book. The first failure opens an incident (detection gap, resubscribe); a
// failure while one is open (a bad snapshot, a bad first update) only schedules another attempt.
func (m *Manager) incident(st *bookState, b *schema.Book, reason, detail string) {
	m.cancelRecovery(st)
	st.book.Reset()
	st.phase = phaseAwait
	canRecover := !st.standalone && m.o.Resync != nil
	if st.incident {
		m.note(reason, "book recovery attempt failed", st, detail)
		if canRecover {
			m.arm(st, m.retryDelay(st, false))
		}
		return
	}
	st.incident, st.reason, st.fromMs = true, reason, st.lastTs
	if st.fromMs == 0 {
		st.fromMs = b.Ts
	}
	m.gap(st, reason, b.Ts, detail)
	m.note(reason, "book invalidated", st, detail)
	if !canRecover {
		return
	}
	if m.budget.take(m.o.Now(), 2) {
		m.c.resubscribes.Add(1)
		m.arm(st, m.o.SnapshotTimeout)
		m.resub = append(m.resub, resubReq{st, st.epoch})
		return
	}
	m.c.resubscribesRefused.Add(1)
	m.arm(st, 0) // no budget: go straight to REST
}

func (m *Manager) resynced(st *bookState, toMs int64, detail string) {
	m.gap(st, schema.GapResync, toMs, detail+" after "+st.reason)
	st.incident = false
	m.c.resyncs.Add(1)
	metricResyncs.Inc()
}

func (m *Manager) gap(st *bookState, reason string, toMs int64, detail string) {
	g := &schema.Gap{Header: schema.Header{RecvNs: m.o.Now().UnixNano(), Channel: st.channel,
		InstID: st.instID, Ts: st.fromMs}, FromMs: st.fromMs, ToMs: max(toMs, st.fromMs), Reason: reason,
		Conn: m.o.Conn, Detail: detail}
	m.out = append(m.out, g)
	m.c.gaps.Add(1)
	if c := gapCounters[reason]; c != nil {
		c.Inc()
	}
}

func (m *Manager) quote(st *bookState, b *schema.Book) *schema.Quote {
	q := m.newQuote()
	setQuote(q, &st.book, b)
	return q
}

func setQuote(q *schema.Quote, bk *Book, b *schema.Book) {
	*q = schema.Quote{Header: schema.Header{RecvNs: b.RecvNs, Channel: b.Channel, InstID: b.InstID, Ts: b.Ts},
		SeqID: b.SeqID, BidPx: math.NaN(), AskPx: math.NaN()}
	if l, ok := bk.BestBid(); ok {
		q.BidPx, q.BidSz = l.Px, l.Sz
	}
	if l, ok := bk.BestAsk(); ok {
		q.AskPx, q.AskSz = l.Px, l.Sz
	}
}

func (m *Manager) newQuote() *schema.Quote {
	if m.nq == len(m.quotes) {
		m.quotes = append(m.quotes, new(schema.Quote))
	}
	m.nq++
	return m.quotes[m.nq-1]
}

// flush emits the queued events, releases the emission lock and then runs queued resubscribes.
func (m *Manager) flush() {
	req := m.resub
	m.resub = nil
	func() {
		defer m.emitMu.Unlock()
		defer func() { clear(m.out); m.out, m.nq = m.out[:0], 0 }()
		for _, ev := range m.out {
			m.o.Emit(ev)
		}
	}()
	for _, r := range req {
		m.resubscribe(r)
	}
}

// note logs the first incident of each kind at Warn and later ones at Debug.
func (m *Manager) note(kind, msg string, st *bookState, detail string) {
	lvl := slog.LevelDebug
	if !m.logged[kind] {
		m.logged[kind], lvl = true, slog.LevelWarn
	}
	m.o.Logger.Log(context.Background(), lvl, msg, "reason", kind, "channel", st.channel, "instId", st.instID,
		"conn", m.o.Conn, "detail", detail)
}

// Reset invalidates one book without a gap (the connection was lost; the client ledgers the outage): it
// awaits the next snapshot, and any recovery in flight is abandoned. An open incident stays open, so its
// resync gap is still emitted when the book is rebuilt. The floor goes too: the next snapshot is taken even
// below the last seqId emitted (the exchange may have reset its seqIds during the outage), so Reset is only
// for a book no connection delivers any more; a second connection still delivering it (a handover) could
// otherwise take the book back in seqId with a snapshot older than what the lost one delivered last.
func (m *Manager) Reset(channel, instID string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if st := m.books[bookKey{channel, instID}]; st != nil {
		m.invalidate(st)
	}
}

// ResetAll resets every book (see Reset).
func (m *Manager) ResetAll() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, st := range m.books {
		m.invalidate(st)
	}
}

func (m *Manager) invalidate(st *bookState) {
	m.cancelRecovery(st)
	st.book.Reset()
	st.phase, st.tries, st.floor = phaseAwait, 0, false
}

// Close stops timers and cancels REST fetches in flight; later Apply calls are ignored.
func (m *Manager) Close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	for _, st := range m.books {
		m.cancelRecovery(st)
	}
	m.cancel()
}

// View calls fn with the book of (channel, instID) under the Manager's state lock; live reports whether it
// is currently valid. fn must not keep the book nor call the Manager. Nil book: unknown.
func (m *Manager) View(channel, instID string, fn func(b *Book, live bool)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if st := m.books[bookKey{channel, instID}]; st != nil {
		fn(&st.book, st.phase == phaseLive)
		return
	}
	fn(nil, false)
}
