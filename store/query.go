package store

import (
	"slices"
	"time"

	"github.com/okxtape/okxtape/schema"
)

// Query selects the rows a source reads: exchange time ts in [From, To) (a zero time leaves that side open),
// and, when the lists are non-empty, only the given instruments (inst_id) and channels. Sources return the
// matching rows of a dataset in (ts, seq) order; replay merges datasets itself.
type Query struct {
	From, To time.Time
	Insts    []string
	Channels []string
}

// Bounds returns the time range as Unix ms: rows with fromMs <= ts < toMs match. An open side is
// math.MinInt64 / math.MaxInt64.
func (q Query) Bounds() (fromMs, toMs int64) {
	fromMs, toMs = -1<<63, 1<<63-1
	if !q.From.IsZero() {
		fromMs = q.From.UnixMilli()
	}
	if !q.To.IsZero() {
		toMs = q.To.UnixMilli()
	}
	return fromMs, toMs
}

// Match reports whether a row with this header is selected by q.
func (q Query) Match(h *schema.Header) bool {
	from, to := q.Bounds()
	if h.Ts < from || h.Ts >= to {
		return false
	}
	if len(q.Insts) > 0 && !slices.Contains(q.Insts, h.InstID) {
		return false
	}
	if len(q.Channels) > 0 && !slices.Contains(q.Channels, h.Channel) {
		return false
	}
	return true
}
