// Package engine dispatches typed events synchronously, in order, to registered handlers and owns the clock.
package engine

import (
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/okxtape/okxtape/schema"
)

// Mode selects where the engine's clock comes from.
type Mode uint8

const (
	// Live: Now is the wall clock; timers fire on wall time; Emit stamps arrival sequence numbers.
	Live Mode = iota
	// Replay: Now is the time of the event being dispatched; timers fire when event time passes them;
	// Emit keeps the recorded sequence numbers.
	Replay
)

// Options configure an Engine.
type Options struct {
	Mode   Mode
	Logger *slog.Logger // nil: slog.Default()
	// SeqStart is the last sequence number already used; live Emit stamps SeqStart+1, +2, ... or the event's
	// RecvNs when that is larger. Zero means "seed from the wall clock in ns", which keeps sequences increasing
	// across sessions.
	SeqStart uint64
}

type handler struct {
	name string
	fn   func(schema.Event)
}

type table struct {
	byKind [schema.NumKinds][]handler
}

// Engine is the in-process event bus: typed handlers, synchronous in-order dispatch, one clock.
//
// Concurrency: Emit may be called from any goroutine; dispatch is serialised (one event at a time, handlers
// in registration order), so handlers never run concurrently with each other or with timers. A single
// producer may instead hold the dispatch lock over a run of EmitLocked calls (LockDispatch). Registration
// is copy-on-write and may happen at any time, including from inside a handler; it affects the next Emit.
//
// Ownership: an event passed to a handler belongs to the emitter and is valid only during the call. A
// handler that keeps an event, or hands it to another goroutine, copies it first (schema.Clone).
type Engine struct {
	mode   Mode
	log    *slog.Logger
	regMu  sync.Mutex
	tab    atomic.Pointer[table]
	mu     sync.Mutex // serialises dispatch and timers
	seq    uint64
	nowNs  atomic.Int64 // replay: time of the current event
	timers timerQueue

	dispatched [schema.NumKinds]atomic.Uint64
	held       [schema.NumKinds]uint64 // EmitLocked's counts, added to dispatched by UnlockDispatch (e.mu)
	panics     atomic.Uint64
	panicked   sync.Map // handler name -> struct{}: log each panicking handler once
}

// New returns an engine with no handlers.
func New(o Options) *Engine {
	e := &Engine{mode: o.Mode, log: o.Logger, seq: o.SeqStart}
	if e.log == nil {
		e.log = slog.Default()
	}
	if e.seq == 0 && o.Mode == Live {
		e.seq = uint64(time.Now().UnixNano())
	}
	e.tab.Store(new(table))
	e.timers.init(e)
	return e
}

// Mode reports the engine's clock mode.
func (e *Engine) Mode() Mode { return e.mode }

// On registers fn for every event of P's kind. name identifies the handler in logs and panic reports.
//
//	engine.On(e, "mystrat", func(t *schema.Ticker) { ... })
func On[P interface {
	*E
	schema.Event
}, E any](e *Engine, name string, fn func(P)) {
	var zero E
	k := P(&zero).Kind()
	e.register(k, handler{name: name, fn: func(ev schema.Event) { fn(ev.(P)) }})
}

// OnAll registers fn for events of every kind (the recorder uses it).
func (e *Engine) OnAll(name string, fn func(schema.Event)) {
	for k := schema.Kind(1); k < schema.NumKinds; k++ {
		e.register(k, handler{name: name, fn: fn})
	}
}

func (e *Engine) register(k schema.Kind, h handler) {
	e.regMu.Lock()
	defer e.regMu.Unlock()
	old := e.tab.Load()
	nt := new(table)
	*nt = *old
	nt.byKind[k] = append(append([]handler(nil), old.byKind[k]...), h)
	e.tab.Store(nt)
}

// Emit dispatches ev to every handler of its kind and returns when all have run.
//
// Live mode stamps Header.Seq with the next arrival sequence number unless it is already set. Replay mode
// first advances the clock to ev's exchange time (Header.Ts, never backwards) and fires timers due by then.
func (e *Engine) Emit(ev schema.Event) {
	e.mu.Lock()
	if e.mode == Live {
		e.stampLocked(ev.Hdr())
	} else {
		e.clockLocked(ev.Hdr().Ts)
	}
	e.dispatchLocked(ev)
	e.mu.Unlock()
}

// LockDispatch takes the dispatch lock for the calling goroutine, for a single producer that emits runs of
// events (replay.Run): until UnlockDispatch, its EmitLocked calls dispatch without taking a lock per event,
// and every other goroutine's Emit, AdvanceTo, Seq and wall-clock timer waits. Hold it for bounded runs
// (replay.Run releases it every few thousand events, and never holds it while pacing). Handlers run under
// it as they run under Emit, so they must not call those methods either.
func (e *Engine) LockDispatch() { e.mu.Lock() }

// UnlockDispatch releases the lock LockDispatch took. The events emitted under it are counted in Stats
// from then on.
func (e *Engine) UnlockDispatch() {
	for k, n := range e.held {
		if n > 0 {
			e.dispatched[k].Add(n)
			e.held[k] = 0
		}
	}
	e.mu.Unlock()
}

// EmitLocked is Emit for the goroutine holding the dispatch lock (LockDispatch). In replay mode the clock
// moves to tsMs instead of ev's Header.Ts: the caller passes Header.Ts, or a running maximum of it that
// some already emitted event reached (replay's merge key), which moves the never-decreasing clock the same
// way without reading the event. Live mode ignores tsMs and stamps Seq as Emit does.
func (e *Engine) EmitLocked(ev schema.Event, tsMs int64) {
	if e.mode == Live {
		e.stampLocked(ev.Hdr())
	} else {
		e.clockLocked(tsMs)
	}
	k := ev.Kind()
	if list := e.tab.Load().byKind[k]; len(list) > 0 {
		e.dispatch(list, ev)
	}
	e.held[k]++
}

// stampLocked gives a live event its arrival sequence number (e.mu held).
func (e *Engine) stampLocked(h *schema.Header) {
	if h.Seq == 0 {
		// A hybrid clock: the next number, or the receive time in ns when that is larger. Two recorders
		// of one feed then number the same events in (nearly) the same order, so a store that keeps one
		// copy of each (ClickHouse FINAL, replay merge) still orders each stream as it arrived.
		e.seq = max(e.seq+1, uint64(max(h.RecvNs, 0)))
		h.Seq = e.seq
	} else if h.Seq > e.seq {
		e.seq = h.Seq
	}
}

// clockLocked moves the replay clock to tsMs (never backwards), firing the timers due by then (e.mu held).
func (e *Engine) clockLocked(tsMs int64) {
	if ns := tsMs * int64(time.Millisecond); ns >= e.timers.nextDue.Load() {
		e.advanceLocked(ns)
	} else if ns > e.nowNs.Load() {
		e.nowNs.Store(ns) // no timer due: the common replay path takes no timer lock
	}
}

// dispatchLocked runs ev's handlers and counts it (e.mu held).
func (e *Engine) dispatchLocked(ev schema.Event) {
	k := ev.Kind()
	if list := e.tab.Load().byKind[k]; len(list) > 0 {
		e.dispatch(list, ev)
	}
	e.dispatched[k].Add(1)
}

// dispatch calls every handler; one deferred recover covers the loop, and a panicking handler is skipped so
// the rest still run.
func (e *Engine) dispatch(list []handler, ev schema.Event) {
	for i := 0; i < len(list); {
		i = e.callFrom(list, i, ev)
	}
}

func (e *Engine) callFrom(list []handler, i int, ev schema.Event) (next int) {
	defer func() {
		if r := recover(); r != nil {
			e.reportPanic(list[next].name, ev.Kind().String(), r)
			next++
		}
	}()
	for next = i; next < len(list); next++ {
		list[next].fn(ev)
	}
	return next
}

func (e *Engine) reportPanic(name, what string, r any) {
	e.panics.Add(1)
	if _, seen := e.panicked.LoadOrStore(name, struct{}{}); !seen {
		e.log.Error("handler panicked; further panics of this handler are counted, not logged",
			"handler", name, "event", what, "panic", fmt.Sprint(r))
	}
}

// Now is the engine's time: the wall clock live, the current event's time in replay.
func (e *Engine) Now() time.Time {
	if e.mode == Live {
		return time.Now()
	}
	return time.Unix(0, e.nowNs.Load()).UTC()
}

// Seq returns the last sequence number stamped (live) or dispatched (replay is not tracked: 0).
func (e *Engine) Seq() uint64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.seq
}

// Stats is a snapshot of the engine's counters.
type Stats struct {
	Dispatched map[string]uint64 `json:"dispatched"` // per kind
	Panics     uint64            `json:"panics"`
}

// Stats returns the dispatch counters (events emitted under LockDispatch count from UnlockDispatch on).
func (e *Engine) Stats() Stats {
	s := Stats{Dispatched: map[string]uint64{}, Panics: e.panics.Load()}
	for k := schema.Kind(1); k < schema.NumKinds; k++ {
		if n := e.dispatched[k].Load(); n > 0 {
			s.Dispatched[k.String()] = n
		}
	}
	return s
}

// Dispatched returns how many events of kind k were emitted.
func (e *Engine) Dispatched(k schema.Kind) uint64 { return e.dispatched[k].Load() }

// Panics returns how many handler calls panicked.
func (e *Engine) Panics() uint64 { return e.panics.Load() }
