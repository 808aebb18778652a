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
func Run(ctx context.Context, e *engine.Engine, s *Stream, o RunOptions) (RunStats, error) {
	if e.Mode() != engine.Replay {
		return RunStats{}, ErrNotReplayEngine
	}
	started := time.Now()
	pacer := NewPacer(o.Speed)
	var st RunStats
	var n uint64
	var last int64
	var err error
	for {
		ev := s.Next()
		if ev == nil {
			break
		}
		ts := ev.Hdr().Ts
		if o.Speed > 0 {
			if err = pacer.Wait(ctx, ts); err != nil {
				break
			}
		}
		if n == 0 {
			st.FirstTs = ts
		}
		e.Emit(ev)
		last = max(last, ts)
		n++
		if n&8191 == 0 {
			if err = ctx.Err(); err != nil {
				break
			}
			if o.Progress != nil {
				o.Progress.Update(n, last)
			}
		} else if o.Progress != nil && o.Speed > 0 {
			o.Progress.Update(n, last) // paced: events are few per second; the bar throttles itself
		}
	}
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
	st.Events, st.LastTs = n, last
	st.PerChannel = s.PerChannel()
	st.WallSeconds = time.Since(started).Seconds()
	if st.WallSeconds > 0 {
		st.EventsPerSec = float64(n) / st.WallSeconds
	}
	return st, err
}
