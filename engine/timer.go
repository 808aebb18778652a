package engine

import (
	"container/heap"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// Timer is a pending After or Every callback. Its callback runs under the engine's dispatch lock, so it never
// runs concurrently with a handler.
type Timer struct {
	e       *Engine
	name    string
	at      int64 // replay: due time in ns of event time
	every   time.Duration
	fn      func()
	stopped atomic.Bool
	wall    *time.Timer
	index   int
}

// Stop cancels the timer; a callback already running completes. Safe from handlers and other goroutines.
func (t *Timer) Stop() {
	t.stopped.Store(true)
	if t.wall != nil {
		t.wall.Stop()
	}
}

// After runs fn once, d after Now: on the wall clock live, in event time during replay.
// Safe to call from handlers and timer callbacks.
func (e *Engine) After(d time.Duration, name string, fn func()) *Timer {
	return e.schedule(d, 0, name, fn)
}

// Every runs fn every d, first at Now+d. Replay fires it for each period that event time crosses.
func (e *Engine) Every(d time.Duration, name string, fn func()) *Timer {
	if d <= 0 {
		panic("engine: Every with non-positive period")
	}
	return e.schedule(d, d, name, fn)
}

func (e *Engine) schedule(d, every time.Duration, name string, fn func()) *Timer {
	t := &Timer{e: e, name: name, every: every, fn: fn}
	if e.mode == Live {
		t.wall = time.AfterFunc(d, t.fireWall)
		return t
	}
	t.at = e.nowNs.Load() + int64(d)
	e.timers.push(t)
	return t
}

func (t *Timer) fireWall() {
	e := t.e
	e.mu.Lock()
	if !t.stopped.Load() {
		e.runTimer(t)
		if t.every > 0 && !t.stopped.Load() {
			t.wall.Reset(t.every)
		}
	}
	e.mu.Unlock()
}

func (e *Engine) runTimer(t *Timer) {
	defer func() {
		if r := recover(); r != nil {
			e.reportPanic(t.name, "timer", r)
		}
	}()
	t.fn()
}

// AdvanceTo moves replay time forward to t (never backwards), firing every timer due by then. Replay calls it
// at the end of a range so trailing timers fire. In live mode it does nothing.
func (e *Engine) AdvanceTo(t time.Time) {
	if e.mode == Live {
		return
	}
	e.mu.Lock()
	e.advanceLocked(t.UnixNano())
	e.mu.Unlock()
}

// advanceLocked fires due timers in time order, setting Now to each timer's due time while it runs.
func (e *Engine) advanceLocked(ns int64) {
	for {
		t := e.timers.popDue(ns)
		if t == nil {
			break
		}
		if t.stopped.Load() {
			continue
		}
		if t.at > e.nowNs.Load() {
			e.nowNs.Store(t.at)
		}
		e.runTimer(t)
		if t.every > 0 && !t.stopped.Load() {
			t.at += int64(t.every)
			e.timers.push(t)
		}
	}
	if ns > e.nowNs.Load() {
		e.nowNs.Store(ns)
	}
}

// timerQueue is a min-heap of replay timers by due time, with its own lock so handlers may schedule while
// the dispatch lock is held.
type timerQueue struct {
	mu      sync.Mutex
	h       timerHeap
	nextDue atomic.Int64 // due time of the earliest timer, MaxInt64 when none: Emit's lock-free fast path
}

func (q *timerQueue) init(*Engine) { q.nextDue.Store(math.MaxInt64) }

// setNext publishes the earliest due time; q.mu is held.
func (q *timerQueue) setNext() {
	if len(q.h) == 0 {
		q.nextDue.Store(math.MaxInt64)
	} else {
		q.nextDue.Store(q.h[0].at)
	}
}

func (q *timerQueue) push(t *Timer) {
	q.mu.Lock()
	heap.Push(&q.h, t)
	q.setNext()
	q.mu.Unlock()
}

func (q *timerQueue) popDue(ns int64) *Timer {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.h) == 0 || q.h[0].at > ns {
		return nil
	}
	t := heap.Pop(&q.h).(*Timer)
	q.setNext()
	return t
}

type timerHeap []*Timer

func (h timerHeap) Len() int           { return len(h) }
func (h timerHeap) Less(i, j int) bool { return h[i].at < h[j].at }
func (h timerHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i]; h[i].index = i; h[j].index = j }
func (h *timerHeap) Push(x any)        { t := x.(*Timer); t.index = len(*h); *h = append(*h, t) }
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	*h = old[:len(old)-1]
	return t
}
