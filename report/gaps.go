package report

import (
	"sort"
	"strings"

	"github.com/okxtape/okxtape/schema"
)

// gapState is a listed gap and what the scan found inside its window.
type gapState struct {
	Gap
	all    bool         // applies to every stream (recorder down, or a connection whose subscriptions are unknown)
	args   []chanArg    // a connection's subscriptions, from the ledger row's detail
	inside map[int]*win // per vstream id: its events inside the window
}

// chanArg is one subscription as the gap ledger names it: channel[:instId|instType].
type chanArg struct{ channel, sel string }

// win tracks one stream's events inside a gap window.
type win struct {
	n        uint64
	last     int64
	maxSpace int64
}

func (b *Builder) addGap(e *schema.Gap) {
	b.gapCounts[e.Reason]++
	switch e.Reason {
	case schema.GapResync:
		b.book(e.Channel, e.InstID).Resyncs++
	case schema.GapSequence:
		b.book(e.Channel, e.InstID).SeqBreaks++
	case schema.GapChecksum:
		b.book(e.Channel, e.InstID).ChecksumFailures++
	case schema.GapCrossed:
		b.book(e.Channel, e.InstID).CrossedBooks++
	}
	if len(b.gaps) >= b.o.MaxGaps {
		b.omitted++
		return
	}
	g := &gapState{Gap: newGap(e.FromMs, max(e.ToMs, e.FromMs), e.Reason, "gap ledger")}
	g.Conn, g.Channel, g.InstID, g.Detail = e.Conn, e.Channel, e.InstID, e.Detail
	switch {
	case e.Channel == "" && e.Conn == "":
		g.Scope, g.all = ScopeRecorder, true // the recorder itself (a crash, a spool recovery)
	case e.Channel == "":
		g.Scope = ScopeConnection
		g.args = parseArgs(e.Detail)
		g.all = len(g.args) == 0
	case e.InstID == "":
		g.Scope = ScopeChannel
	default:
		g.Scope = ScopeInstrument
	}
	b.gaps = append(b.gaps, g)
}

func newGap(from, to int64, reason, source string) Gap {
	return Gap{StartMs: from, EndMs: to, Start: fmtMs(from), End: fmtMs(to), DurationS: float64(to-from) / 1000,
		Reason: reason, Source: source}
}

// parseArgs reads the subscriptions a disconnect row lists: "[note: ]tickers:BTC-USDT,books:ETH-USDT".
func parseArgs(detail string) []chanArg {
	if i := strings.LastIndex(detail, ": "); i >= 0 {
		detail = detail[i+2:]
	}
	var out []chanArg
	for _, a := range strings.Split(detail, ",") {
		a = strings.TrimSpace(a)
		if a == "" || strings.ContainsAny(a, " ") {
			continue
		}
		c, sel, _ := strings.Cut(a, ":")
		out = append(out, chanArg{c, sel})
	}
	return out
}

// applies reports whether the gap concerns stream (channel, inst).
func (g *gapState) applies(channel, inst string) bool {
	switch {
	case g.all:
		return true
	case g.Channel != "":
		return channel == g.Channel && (g.InstID == "" || inst == g.InstID)
	}
	for _, a := range g.args {
		// A selector without '-' is an instType (SPOT, SWAP, ANY) or a currency: the whole channel; an
		// instFamily (BTC-USD) covers its instruments (BTC-USD-SWAP).
		if a.channel == channel && (a.sel == "" || a.sel == inst || !strings.Contains(a.sel, "-") ||
			strings.HasPrefix(inst, a.sel+"-")) {
			return true
		}
	}
	return false
}

// inside records an event of v at ts against the gaps that apply to v and contain ts.
func (b *Builder) inside(v *vstream, ts int64) {
	gs := v.gaps
	i := sort.Search(len(gs), func(i int) bool { return b.gaps[gs[i]].StartMs >= ts })
	for j, seen := i-1, 0; j >= 0 && seen < 16; j, seen = j-1, seen+1 {
		g := b.gaps[gs[j]]
		if ts <= g.StartMs || ts >= g.EndMs {
			continue
		}
		if g.inside == nil {
			g.inside = map[int]*win{}
		}
		w := g.inside[v.id]
		if w == nil {
			w = &win{last: g.StartMs}
			g.inside[v.id] = w
		}
		w.n++
		w.maxSpace = max(w.maxSpace, ts-w.last)
		w.last = max(w.last, ts)
	}
}

// coveredByOther decides whether another recorder's rows fill the gap: every stream it concerns that has
// data holds at least two events inside the window, with no silence inside it longer than the larger of 1 s
// and three of the stream's median intervals. A recorder's own rows only touch a window's edges.
func (b *Builder) coveredByOther(g *gapState, vs []*vstream, medianInterval map[int]float64) (bool, uint64) {
	var n uint64
	scoped := 0
	covered := true
	for _, v := range vs {
		if v.events == 0 || !g.applies(v.key.channel, v.key.inst) {
			continue
		}
		scoped++
		w := g.inside[v.id]
		if w == nil {
			covered = false
			continue
		}
		n += w.n
		space := max(w.maxSpace, g.EndMs-w.last)
		limit := max(1000, 3*medianInterval[v.id])
		if w.n < 2 || float64(space) > limit {
			covered = false
		}
	}
	return covered && scoped > 0, n
}

// sessionGaps derives recorder-wide gaps from the session ledger: time between a clean stop and the next
// start, and from a crashed session's last event to the next start (its spool was recovered then).
func (b *Builder) sessionGaps() []*gapState {
	var out []*gapState
	add := func(from, to int64, reason, detail string) {
		from, to = max(from, b.o.FromMs), min(to, b.o.ToMs)
		if to-from < 1000 {
			return
		}
		g := &gapState{Gap: newGap(from, to, reason, "sessions"), all: true}
		g.Scope, g.Detail = ScopeRecorder, detail
		out = append(out, g)
	}
	var end int64 // the latest end of the sessions so far (running or stopped)
	for i, s := range b.sessOrder {
		if i > 0 && s.s.StartMs > end {
			prev := b.sessOrder[i-1]
			if prev.s.EndMs > 0 {
				add(end, s.s.StartMs, ReasonNotRecording, "no session between "+prev.s.SessionID+" and "+s.s.SessionID)
			} else {
				add(end, s.s.StartMs, ReasonCrash, "session "+prev.s.SessionID+" ended without a clean stop; its spool was recovered at the next start")
			}
		}
		e := s.s.EndMs
		if e == 0 {
			e = s.lastEvent
		}
		end = max(end, e)
	}
	return out
}

// uncovered returns the milliseconds of [from, to) inside any of the intervals.
func uncovered(iv [][2]int64, from, to int64) int64 {
	sort.Slice(iv, func(i, j int) bool { return iv[i][0] < iv[j][0] })
	var total, cur int64 = 0, from
	for _, x := range iv {
		lo, hi := max(x[0], cur), min(x[1], to)
		if hi > lo {
			total += hi - lo
			cur = hi
		}
	}
	return total
}
