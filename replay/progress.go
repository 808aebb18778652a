package replay

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// Progress receives replay progress: the events delivered so far and the current event time. Run calls
// Update every few thousand events (from the replay goroutine) and Finish once at the end.
type Progress interface {
	Update(events uint64, tsMs int64)
	Finish()
}

// StderrIsTerminal reports whether stderr is a terminal (where a progress bar belongs).
func StderrIsTerminal() bool { return term.IsTerminal(int(os.Stderr.Fd())) }

// Bar is a terminal progress bar over a time range: position is the share of [first, last] replayed, with
// the event count and an ETA.
type Bar struct {
	bar         *progressbar.ProgressBar
	first, last int64
	lastDraw    time.Time
}

// NewBar returns a progress bar writing to w for the event-time range [first, last] in Unix ms.
func NewBar(w io.Writer, first, last int64) *Bar {
	b := progressbar.NewOptions64(1000,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription("replay"),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
	return &Bar{bar: b, first: first, last: max(last, first+1)}
}

// Update implements Progress.
func (b *Bar) Update(events uint64, tsMs int64) {
	now := time.Now()
	if now.Sub(b.lastDraw) < 100*time.Millisecond {
		return
	}
	b.lastDraw = now
	pos := (tsMs - b.first) * 1000 / (b.last - b.first)
	pos = min(max(pos, 0), 1000)
	b.bar.Describe(fmt.Sprintf("%d events, at %s", events, time.UnixMilli(tsMs).UTC().Format("2006-01-02 15:04:05")))
	_ = b.bar.Set64(pos)
}

// Finish implements Progress: it clears the bar.
func (b *Bar) Finish() {
	_ = b.bar.Finish()
	_ = b.bar.Clear()
}
