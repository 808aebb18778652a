package ingest

import (
	"hash/maphash"
	"math"
	"sync"
	"time"

	"github.com/okxtape/okxtape/schema"
)

const (
	// handoverGrace is how long after the old connection of a handover is gone that the new one's events are
	// still checked against what the old one delivered (the new one may lag behind it).
	handoverGrace = 5 * time.Second
	// maxHandoverSeen bounds the identities a window remembers; past it the oldest half is forgotten.
	maxHandoverSeen = 1 << 17
)

// handoverWindow deduplicates the events of a slot while two of its connections deliver the same
// subscriptions (a 64008 make-before-break handover). An event's exchange identity is its row without the
// local fields (receive time, sequence): the same ticker ts, trade id, candle values, funding rate... An event
// already delivered by the other connection is dropped and counted; an event repeated by the same connection
// is not touched (that is the exchange's doing, and outside handovers nothing is filtered at all). Books are
// not checked here: the book manager drops stale and repeated seqIds itself. Safe for concurrent use.
type handoverWindow struct {
	mu      sync.Mutex
	seen    map[uint64]*conn // identity -> the connection that delivered it first
	older   map[uint64]*conn // the previous generation of seen, once it outgrew maxHandoverSeen
	closeAt time.Time        // zero while the old connection may still deliver
}

func newHandoverWindow() *handoverWindow {
	return &handoverWindow{seen: make(map[uint64]*conn)}
}

// admit reports whether the event with identity id (decoded on cn) is new; false means another connection
// already delivered it.
func (w *handoverWindow) admit(cn *conn, id uint64) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	first := w.seen[id]
	if first == nil {
		first = w.older[id]
	}
	switch {
	case first == nil:
		if len(w.seen) >= maxHandoverSeen {
			w.older, w.seen = w.seen, make(map[uint64]*conn)
		}
		w.seen[id] = cn
		return true
	case first == cn:
		return true
	}
	return false
}

// seedFrom records the latest value-channel events old delivered before the window opened: a new
// connection's first pushes repeat them (OKX sends the current ticker, candle, funding rate... on subscribe).
func (w *handoverWindow) seedFrom(old *conn) {
	old.lastMu.Lock()
	defer old.lastMu.Unlock()
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, id := range old.lastIDs {
		if w.seen[id] == nil {
			w.seen[id] = old
		}
	}
}

// expired reports whether the window has outlived its old connection by handoverGrace.
func (w *handoverWindow) expired(now time.Time) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return !w.closeAt.IsZero() && now.After(w.closeAt)
}

// closeIn ends the window d from now (the old connection is gone, or the handover failed).
func (w *handoverWindow) closeIn(d time.Duration) {
	w.mu.Lock()
	w.closeAt = time.Now().Add(d)
	w.mu.Unlock()
}

// beginHandover opens a dedupe window on s for the overlap of old and the connection being established.
func (s *slot) beginHandover(old *conn) *handoverWindow {
	w := newHandoverWindow()
	s.window.Store(w)
	w.seedFrom(old)
	return w
}

// endHandover closes w once old is gone (plus handoverGrace); old nil: the handover failed, close soon.
func (s *slot) endHandover(w *handoverWindow, old *conn) {
	if w == nil {
		return
	}
	if old == nil {
		w.closeIn(handoverGrace)
		return
	}
	go func() {
		<-old.done
		w.closeIn(handoverGrace)
	}()
}

// streamKey names one stream of events on a connection.
type streamKey struct {
	kind            schema.Kind
	channel, instID string
}

// identity returns ev's exchange identity: a hash of its row without the local fields (receive time and
// sequence), so the same ticker ts, trade id, candle values or funding rate hash alike on every connection.
func (cn *conn) identity(st schema.Stored) uint64 {
	h := st.Hdr()
	seq, recv := h.Seq, h.RecvNs
	h.Seq, h.RecvNs = 0, 0
	cn.idh.h = uint64(st.Kind()) + 1
	st.WriteRow(&cn.idh)
	h.Seq, h.RecvNs = seq, recv
	return cn.idh.h
}

var idSeed = maphash.MakeSeed()

// idHasher is a schema.RowWriter that folds a row into a 64-bit hash without encoding it.
type idHasher struct{ h uint64 }

func (w *idHasher) mix(v uint64) {
	w.h = (w.h ^ v) * 0x9e3779b97f4a7c15
	w.h ^= w.h >> 31
}

func (w *idHasher) Int64(v int64)     { w.mix(uint64(v)) }
func (w *idHasher) Float64(v float64) { w.mix(math.Float64bits(v)) }
func (w *idHasher) String(v string)   { w.mix(maphash.String(idSeed, v)) }
func (w *idHasher) Bool(v bool) {
	if v {
		w.mix(1)
	} else {
		w.mix(2)
	}
}

func (w *idHasher) Float64s(v []float64) {
	w.mix(uint64(len(v)))
	for _, f := range v {
		w.Float64(f)
	}
}

func (w *idHasher) Int64s(v []int64) {
	w.mix(uint64(len(v)))
	for _, n := range v {
		w.Int64(n)
	}
}

// admit passes a decoded non-book event through the slot's handover window, if one is open; false: drop it
// as a duplicate. For value channels (everything but trades) it also remembers the stream's latest identity,
// which seeds the window of a later handover.
func (cn *conn) admit(ev schema.Event) bool {
	st, ok := ev.(schema.Stored)
	if !ok {
		return true
	}
	var id uint64
	hashed := false
	if st.Kind() != schema.KindTrade {
		id, hashed = cn.identity(st), true
		h := st.Hdr()
		k := streamKey{st.Kind(), h.Channel, h.InstID}
		cn.lastMu.Lock()
		if cn.lastIDs == nil {
			cn.lastIDs = map[streamKey]uint64{}
		}
		if _, ok := cn.lastIDs[k]; !ok && len(cn.lastIDs) >= maxHandoverSeen {
			clear(cn.lastIDs)
		}
		cn.lastIDs[k] = id
		cn.lastMu.Unlock()
	}
	w := cn.s.window.Load()
	if w == nil {
		return true
	}
	if w.expired(time.Now()) {
		cn.s.window.CompareAndSwap(w, nil)
		return true
	}
	if !hashed {
		id = cn.identity(st)
	}
	if w.admit(cn, id) {
		return true
	}
	ch := st.Hdr().Channel
	cn.c.handoverDups.add(ch, 1)
	metricHandoverDuplicates.WithLabelValues(ch).Inc()
	return false
}
