package replay

import (
	"context"
	"errors"
	"time"

	"github.com/okxtape/okxtape/engine"
	"github.com/okxtape/okxtape/store"
)

// RunOptions configure Run.
type RunOptions struct {
	// Speed is the pacing factor of real time; 0 replays as fast as possible.
	Speed float64
	// Progress, when set, is updated every few thousand events (every event when paced; it throttles
	// drawing itself) and finished at the end.
	Progress Progress
	// End, when set, is where the clock is advanced after the last event so that trailing timers fire as
	// they would have live (normally the selection's --to). Zero: the last event's time.
	End time.Time
}

// RunStats summarise a replay.
type RunStats struct {
	Events       uint64            `json:"events"`
	PerChannel   map[string]uint64 `json:"per_channel"`
	WallSeconds  float64           `json:"wall_s"`
	EventsPerSec float64           `json:"events_per_s"`
	FirstTs      int64             `json:"first_ts,omitempty"`
	LastTs       int64             `json:"last_ts,omitempty"`
}

// ErrNotReplayEngine is returned by Run for an engine in live mode (its clock would not follow event time).
var ErrNotReplayEngine = errors.New("replay: the engine must be in engine.Replay mode")

// Start returns the time a replay of this stream starts at: q.From when set, else the first event's time.
// Call it before attaching strategies and advance the engine's clock there (engine.AdvanceTo), so that
// timers a strategy starts in Attach count from the start of the data, not from 1970.
func (s *Stream) Start(q store.Query) (time.Time, bool) {
	if !q.From.IsZero() {
		return q.From, true
	}
	ts, ok := s.Peek()
	if !ok {
		return time.Time{}, false
	}
	return time.UnixMilli(ts).UTC(), true
}

// NewEngine returns a replay-mode engine whose clock is at the start of s (see Start), ready for strategies.
func NewEngine(s *Stream, q store.Query, o engine.Options) *engine.Engine {
	o.Mode = engine.Replay
	e := engine.New(o)
	if start, ok := s.Start(q); ok {
		e.AdvanceTo(start)
	}
	return e
}

// Run emits every event of s into e in replay order, paced by o.Speed, and then advances the clock to o.End.
// Engine.Emit in replay mode keeps each event's recorded Seq and moves the clock to its exchange time, so
// timers and Now behave as they did live. Run returns early with ctx's error when ctx is cancelled.
//
// Unpaced, Run is the engine's single producer: it holds the engine's dispatch lock (LockDispatch) over
// runs of up to 8192 events and moves the clock by each event's merge key (Stream.NextKey), which moves it
// exactly as the events' own times would; other goroutines' Emit and AdvanceTo wait between runs.
func Run(ctx context.Context, e *engine.Engine, s *Stream, o RunOptions) (RunStats, error) {
	if e.Mode() != engine.Replay {
		return RunStats{}, ErrNotReplayEngine
	}
	started := time.Now()
	var st RunStats
	var err error
	r := runState{e: e, s: s, o: o}
	if o.Speed > 0 {
		err = r.paced(ctx)
	} else {
		err = r.unpaced(ctx)
	}
	n, last := r.n, r.last
	if err == nil {
		err = s.Err()
	}
	if err == nil {
		if !o.End.IsZero() {
			e.AdvanceTo(o.End)
		} else if n > 0 {
			e.AdvanceTo(time.UnixMilli(last))
		}
	}
	if o.Progress != nil {
		o.Progress.Update(n, last)
		o.Progress.Finish()
	}
	st.Events, st.FirstTs, st.LastTs = n, r.first, last
	st.PerChannel = s.PerChannel()
	st.WallSeconds = time.Since(started).Seconds()
	if st.WallSeconds > 0 {
		st.EventsPerSec = float64(n) / st.WallSeconds
	}
	return st, err
}

// runState is a Run in progress: events emitted, the first event's and the largest ts.
type runState struct {
	e           *engine.Engine
	s           *Stream
	o           RunOptions
	n           uint64
	first, last int64
}

// paced emits event by event, waiting for each one's time.
func (r *runState) paced(ctx context.Context) error {
	pacer := NewPacer(r.o.Speed)
	for {
		ev := r.s.Next()
		if ev == nil {
			return nil
		}
		ts := ev.Hdr().Ts
		if err := pacer.Wait(ctx, ts); err != nil {
			return err
		}
		if r.n == 0 {
			r.first = ts
		}
		r.e.Emit(ev)
		r.last = max(r.last, ts)
		r.n++
		if r.n&8191 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if r.o.Progress != nil {
			r.o.Progress.Update(r.n, r.last) // events are few per second; the bar throttles itself
		}
	}
}

// unpaced emits runs of up to 8192 events under one hold of the dispatch lock, checking ctx and updating
// the progress between runs.
func (r *runState) unpaced(ctx context.Context) error {
	for {
		done := r.run(8192)
		if done {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if r.o.Progress != nil {
			r.o.Progress.Update(r.n, r.last)
		}
	}
}

// run emits up to max events under the dispatch lock; true at the end of the stream.
func (r *runState) run(max int) bool {
	r.e.LockDispatch()
	defer r.e.UnlockDispatch()
	for range max {
		ev, key := r.s.NextKey()
		if ev == nil {
			return true
		}
		if r.n == 0 {
			r.first = ev.Hdr().Ts
		}
		r.e.EmitLocked(ev, key)
		r.last = key // keys never decrease, and the largest is the largest ts
		r.n++
	}
	return false
}
