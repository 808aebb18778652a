package book

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/okxtape/okxtape/ingest/decode"
	"github.com/okxtape/okxtape/schema"
)

// maxQuickRetries is how many times a REST snapshot older than the stream is refetched without delay.
const maxQuickRetries = 3

var (
	errNoSnapshot = errors.New("book: REST snapshot missing")
	errNoSeqID    = errors.New("book: REST snapshot has no seqId; cannot join it to the stream")
	errTooOld     = errors.New("book: REST snapshot older than the buffered updates")
)

// Stats are a Manager's counters since it was created. The JSON names are the exit summary's.
type Stats struct {
	Books               uint64 `json:"books"`                // (channel, instId) books known
	Applied             uint64 `json:"applied"`              // valid messages emitted (not counting REST snapshots)
	Resyncs             uint64 `json:"resyncs"`              // books rebuilt after an incident
	Gaps                uint64 `json:"gaps"`                 // gap rows emitted (detection + resync)
	ChecksumFailures    uint64 `json:"checksum_failures"`    // checksum mismatches, recovery attempts included
	SequenceGaps        uint64 `json:"sequence_gaps"`        // breaks of the seqId chain of a live book
	Crossed             uint64 `json:"crossed"`              // crossed books seen (incidents unless AllowCrossed)
	Duplicates          uint64 `json:"duplicates"`           // duplicate or stale updates dropped
	StaleSnapshots      uint64 `json:"stale_snapshots"`      // snapshots dropped: the book already had that seqId or a newer one
	Heartbeats          uint64 `json:"heartbeats"`           // empty updates with prevSeqId == seqId
	ChecksumsVerified   uint64 `json:"checksums_verified"`   // non-zero checksums that matched
	Buffered            uint64 `json:"buffered"`             // updates kept for a REST join
	Dropped             uint64 `json:"dropped"`              // updates discarded while no valid book (overflow, superseded, no Resyncer)
	Resubscribes        uint64 `json:"resubscribes"`         // Resubscribe calls
	ResubscribesRefused uint64 `json:"resubscribes_refused"` // incidents for which the request budget had no tokens
	ResubscribeErrors   uint64 `json:"resubscribe_errors"`
	SnapshotFetches     uint64 `json:"snapshot_fetches"`  // REST snapshot requests
	SnapshotFailures    uint64 `json:"snapshot_failures"` // REST snapshots that failed, had no seqId, or were older than the stream
}

// Add adds o's counters to s (to aggregate the Managers of several connections).
func (s *Stats) Add(o Stats) {
	s.Books += o.Books
	s.Applied += o.Applied
	s.Resyncs += o.Resyncs
	s.Gaps += o.Gaps
	s.ChecksumFailures += o.ChecksumFailures
	s.SequenceGaps += o.SequenceGaps
	s.Crossed += o.Crossed
	s.Duplicates += o.Duplicates
	s.StaleSnapshots += o.StaleSnapshots
	s.Heartbeats += o.Heartbeats
	s.ChecksumsVerified += o.ChecksumsVerified
	s.Buffered += o.Buffered
	s.Dropped += o.Dropped
	s.Resubscribes += o.Resubscribes
	s.ResubscribesRefused += o.ResubscribesRefused
	s.ResubscribeErrors += o.ResubscribeErrors
	s.SnapshotFetches += o.SnapshotFetches
	s.SnapshotFailures += o.SnapshotFailures
}

type counters struct {
	books, applied, resyncs, gaps, checksumFailures, sequenceGaps, crossed, duplicates, staleSnapshots, heartbeats,
	checksumsVerified, buffered, dropped, resubscribes, resubscribesRefused, resubscribeErrors,
	snapshotFetches, snapshotFailures atomic.Uint64
}

// Stats returns the counters. It takes no lock, so it is safe from Emit.
func (m *Manager) Stats() Stats {
	c := &m.c
	return Stats{Books: c.books.Load(), Applied: c.applied.Load(), Resyncs: c.resyncs.Load(),
		Gaps: c.gaps.Load(), ChecksumFailures: c.checksumFailures.Load(), SequenceGaps: c.sequenceGaps.Load(),
		Crossed: c.crossed.Load(), Duplicates: c.duplicates.Load(), StaleSnapshots: c.staleSnapshots.Load(),
		Heartbeats:        c.heartbeats.Load(),
		ChecksumsVerified: c.checksumsVerified.Load(), Buffered: c.buffered.Load(), Dropped: c.dropped.Load(),
		Resubscribes: c.resubscribes.Load(), ResubscribesRefused: c.resubscribesRefused.Load(),
		ResubscribeErrors: c.resubscribeErrors.Load(), SnapshotFetches: c.snapshotFetches.Load(),
		SnapshotFailures: c.snapshotFailures.Load()}
}

// bucket is a token bucket of WebSocket requests (guarded by Manager.mu).
type bucket struct {
	rate, burst, tokens float64 // rate in tokens per second
	last                time.Time
}

func (b *bucket) take(now time.Time, n float64) bool {
	if b.rate <= 0 {
		return false
	}
	if !b.last.IsZero() {
		if el := now.Sub(b.last).Seconds(); el > 0 {
			b.tokens = min(b.burst, b.tokens+el*b.rate)
		}
	}
	if now.After(b.last) {
		b.last = now
	}
	if b.tokens < n {
		return false
	}
	b.tokens -= n
	return true
}

type resubReq struct {
	st *bookState
	ep uint64
}

// entry is a buffered update: a deep copy of the message and its strings.
type entry struct {
	b   *schema.Book
	raw decode.BookRaw
}

func newEntry(b *schema.Book, raw *decode.BookRaw) *entry {
	e := &entry{b: b.Clone()}
	if raw == nil {
		return e
	}
	n := 0
	for _, side := range [2][]decode.RawLevel{raw.Bids, raw.Asks} {
		for _, l := range side {
			n += len(l.Px) + len(l.Sz)
		}
	}
	mem := make([]byte, 0, n) // exact size: the sub-slices below stay valid
	e.raw.Bids = copyRaw(&mem, raw.Bids)
	e.raw.Asks = copyRaw(&mem, raw.Asks)
	return e
}

func copyRaw(mem *[]byte, src []decode.RawLevel) []decode.RawLevel {
	out := make([]decode.RawLevel, len(src))
	for i, l := range src {
		s := len(*mem)
		*mem = append(*mem, l.Px...)
		out[i].Px = (*mem)[s:len(*mem):len(*mem)]
		s = len(*mem)
		*mem = append(*mem, l.Sz...)
		out[i].Sz = (*mem)[s:len(*mem):len(*mem)]
	}
	return out
}

// await handles an update while the book has no valid state: keep it for a REST join and make sure a
// snapshot attempt is scheduled (covers a book whose first message is an update).
func (m *Manager) await(st *bookState, b *schema.Book, raw *decode.BookRaw, e *entry) {
	if m.o.Resync == nil || st.standalone {
		m.c.dropped.Add(1)
		return
	}
	m.buffer(st, b, raw, e)
	if !st.pending {
		m.arm(st, m.o.SnapshotTimeout)
	}
}

func (m *Manager) buffer(st *bookState, b *schema.Book, raw *decode.BookRaw, e *entry) {
	if b.SeqID < b.PrevSeqID {
		st.floor = false // a sequence reset: the seqIds emitted so far say nothing about the new ones
	}
	if m.o.Resync == nil || st.standalone || st.wsOnly { // no REST snapshot to join them to
		m.c.dropped.Add(1)
		return
	}
	if e == nil {
		e = newEntry(b, raw)
	}
	if n := len(st.buf) - m.o.MaxBuffered + 1; n > 0 {
		m.c.dropped.Add(uint64(n))
		copy(st.buf, st.buf[n:])
		clear(st.buf[len(st.buf)-n:])
		st.buf = st.buf[:len(st.buf)-n]
	}
	st.buf = append(st.buf, e)
	m.c.buffered.Add(1)
}

// arm schedules a REST snapshot attempt after d, superseding any scheduled one.
func (m *Manager) arm(st *bookState, d time.Duration) {
	if st.stop != nil {
		st.stop()
		st.stop = nil
	}
	st.epoch++
	st.pending = true
	ep := st.epoch
	st.stop = m.o.AfterFunc(d, func() { m.fire(st, ep) })
}

// cancelRecovery abandons a scheduled or running snapshot attempt and the buffered updates.
func (m *Manager) cancelRecovery(st *bookState) {
	if st.stop != nil {
		st.stop()
		st.stop = nil
	}
	st.epoch++
	st.pending, st.snap = false, nil
	if n := len(st.buf); n > 0 {
		m.c.dropped.Add(uint64(n))
		clear(st.buf)
		st.buf = st.buf[:0]
	}
}

func (m *Manager) retryDelay(st *bookState, quick bool) time.Duration {
	st.tries++
	if quick && st.tries <= maxQuickRetries {
		return 0
	}
	return min(m.o.SnapshotTimeout<<min(st.tries-1, 10), m.o.MaxRetryDelay)
}

// fire runs on the AfterFunc goroutine: fetch a REST snapshot (no lock held) and join it.
func (m *Manager) fire(st *bookState, ep uint64) {
	m.mu.Lock()
	ok := !m.closed && st.epoch == ep && st.phase == phaseAwait
	if ok {
		st.stop = nil
	}
	if ok && st.wsOnly {
		m.resubscribeAgain(st) // unlocks mu
		return
	}
	m.mu.Unlock()
	if !ok {
		return
	}
	m.c.snapshotFetches.Add(1)
	snap, raw, err := m.o.Resync.Snapshot(m.ctx, st.instID)
	m.emitMu.Lock()
	defer m.flush()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed || st.epoch != ep || st.phase != phaseAwait {
		return // superseded by a WebSocket snapshot, Reset or Close
	}
	m.join(st, snap, raw, err)
}

// join applies a REST snapshot and replays the buffered updates against it (docs §6.2, alternative
// bootstrap): updates with seqId <= snapshot seqId are dropped, the first kept one must satisfy
// prevSeqId <= snapshot seqId < seqId; a snapshot older than the first buffered update is refetched.
func (m *Manager) join(st *bookState, snap *schema.Book, raw *decode.BookRaw, err error) {
	if err == nil && snap != nil && snap.SeqID > 0 {
		m.skipBeforeReset(st, snap)
	}
	switch {
	case err != nil:
	case snap == nil:
		err = errNoSnapshot
	case snap.SeqID <= 0:
		err = errNoSeqID
	case len(st.buf) > 0 && snap.SeqID < st.buf[0].b.PrevSeqID:
		err = fmt.Errorf("%w: seqId %d < prevSeqId %d", errTooOld, snap.SeqID, st.buf[0].b.PrevSeqID)
	case m.belowFloor(st, snap):
		err = fmt.Errorf("%w: seqId %d < seqId %d already emitted", errTooOld, snap.SeqID, st.sent)
	}
	if err != nil {
		m.c.snapshotFailures.Add(1)
		m.note("snapshot", "book REST snapshot unusable", st, err.Error())
		m.arm(st, m.retryDelay(st, errors.Is(err, errTooOld)))
		return
	}
	snap.Channel, snap.InstID = st.channel, st.instID
	snap.Action, snap.PrevSeqID = schema.ActionSnapshot, -1
	if snap.RecvNs == 0 {
		snap.RecvNs = m.o.Now().UnixNano()
	}
	st.pending = false
	st.book.ApplySnapshot(snap.Bids, snap.Asks, raw)
	if m.verify(st, snap) {
		return
	}
	st.phase, st.last, st.snap = phaseJoining, snap.SeqID, snap
	setQuote(&st.snapQ, &st.book, snap)
	buf := st.buf
	st.buf = nil
	for i, e := range buf {
		buf[i] = nil
		m.update(st, e.b, &e.raw, e)
	}
}

// skipBeforeReset drops the buffered updates up to the last sequence reset (seqId < prevSeqId, as after
// maintenance) when the snapshot was taken after it: its seqId lies in the new, lower seqId space (at or above
// the reset's seqId, below its prevSeqId) and its ts is not older. Those updates are in the snapshot and could
// never link to it; without this the join would fail as "older than the buffered updates" forever.
func (m *Manager) skipBeforeReset(st *bookState, snap *schema.Book) {
	for i := len(st.buf) - 1; i >= 0; i-- {
		r := st.buf[i].b
		if r.SeqID >= r.PrevSeqID {
			continue
		}
		if snap.SeqID >= r.SeqID && snap.SeqID < r.PrevSeqID && snap.Ts >= r.Ts {
			n := i + 1
			m.duplicate(uint64(n))
			clear(st.buf[:n])
			st.buf = st.buf[n:]
		}
		return
	}
}

// resubscribeAgain is fire for a book only a WebSocket snapshot can rebuild: the snapshot of the last
// resubscribe did not come in time, so schedule the next attempt (backing off) and resubscribe again when
// the request budget allows. Called with mu held; it releases it.
func (m *Manager) resubscribeAgain(st *bookState) {
	m.arm(st, m.retryDelay(st, false))
	ok := m.budget.take(m.o.Now(), 2)
	if ok {
		m.c.resubscribes.Add(1)
	} else {
		m.c.resubscribesRefused.Add(1)
	}
	r := resubReq{st, st.epoch}
	m.mu.Unlock()
	if ok {
		m.resubscribe(r)
	}
}

// resubscribe runs after emission with no lock held; on failure it falls back to REST at once (a book only
// a WebSocket snapshot can rebuild waits for its armed retry instead).
func (m *Manager) resubscribe(r resubReq) {
	err := m.o.Resync.Resubscribe(r.st.channel, r.st.instID)
	if err == nil {
		return
	}
	m.c.resubscribeErrors.Add(1)
	m.mu.Lock()
	defer m.mu.Unlock()
	if r.st.wsOnly {
		m.note("resubscribe", "book resubscribe failed; retrying later", r.st, err.Error())
		return
	}
	m.note("resubscribe", "book resubscribe failed; fetching a REST snapshot", r.st, err.Error())
	if !m.closed && r.st.epoch == r.ep && r.st.phase == phaseAwait {
		m.arm(r.st, 0)
	}
}
