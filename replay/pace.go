package replay

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// MinSpeed and MaxSpeed bound a paced replay's factor of real time (at 0.001 a day of data takes three
// years; smaller factors overflowed into "as fast as possible").
const (
	MinSpeed = 0.001
	MaxSpeed = 1e9
)

// ParseSpeed parses a --speed value: "max" (or "0") is as fast as possible (returned as 0); otherwise a
// factor of real time from MinSpeed to MaxSpeed (1 = as recorded, 10 = ten times faster, 0.5 = half speed).
func ParseSpeed(s string) (float64, error) {
	s = strings.TrimSpace(strings.ToLower(s))
	if s == "max" || s == "" || s == "0" {
		return 0, nil
	}
	s = strings.TrimSuffix(s, "x")
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || !(f >= MinSpeed && f <= MaxSpeed) { // also refuses NaN, Inf and 0
		return 0, fmt.Errorf("bad speed %q: want max or a factor of real time from %g to %g, such as 1, 10, 0.5",
			s, MinSpeed, MaxSpeed)
	}
	return f, nil
}

// Pacer delays delivery so that event time advances at Speed times the wall clock, measured from the first
// event it sees. Speed 0 never waits. Lateness does not accumulate: each event's due time is computed from the
// origin, so a slow consumer catches up instead of drifting.
type Pacer struct {
	Speed   float64
	started bool
	origin  int64 // event ms of the first event
	wall    time.Time
	timer   *time.Timer
}

// NewPacer returns a pacer for speed (0: as fast as possible).
func NewPacer(speed float64) *Pacer { return &Pacer{Speed: speed} }

// Wait blocks until the event at tsMs is due, or ctx is done (its error is returned).
func (p *Pacer) Wait(ctx context.Context, tsMs int64) error {
	if p.Speed <= 0 {
		return nil
	}
	if !p.started {
		p.started, p.origin, p.wall = true, tsMs, time.Now()
		return ctx.Err()
	}
	due := p.wall.Add(time.Duration(float64(tsMs-p.origin) * float64(time.Millisecond) / p.Speed))
	d := time.Until(due)
	if d < time.Millisecond {
		return nil
	}
	if p.timer == nil {
		p.timer = time.NewTimer(d)
	} else {
		p.timer.Reset(d)
	}
	select {
	case <-ctx.Done():
		p.timer.Stop()
		return ctx.Err()
	case <-p.timer.C:
		return nil
	}
}
