package replay

import (
	"context"
	"slices"
	"strings"

	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/store"
)

// Ledger is what one recorder (one store) says about its own coverage: its sessions, its gap ledger, and the
// largest ts it stored (the end of a session that never wrote its clean-stop row).
type Ledger struct {
	Sessions []*schema.Session
	Gaps     []*schema.Gap
	LastTs   int64
}

// GapCoverage counts what Uncovered did with the gaps.
type GapCoverage struct {
	In      uint64 `json:"in"`      // gaps in all ledgers
	Covered uint64 `json:"covered"` // fully covered by another ledger: reported here, not kept as gaps
	Trimmed uint64 `json:"trimmed"` // partly covered: only the uncovered windows are kept
	Kept    uint64 `json:"kept"`    // not covered at all
}

type window struct{ from, to int64 }

// Uncovered recomputes the gap ledger of several redundant recorders of the same feed: a window in which one
// ledger has a gap is still a gap only where no other ledger recorded that stream. Another ledger recorded a
// gap's stream from a to b when one of its sessions ran from a to b with the gap's channel and instrument
// among its subscriptions (all channels and instruments of the gap's own session for a connection-wide gap)
// and none of its own gaps for that stream overlaps. The result holds each remaining window as a gap (a
// copy of the original with FromMs/ToMs/Ts narrowed), in the order of the input ledgers.
func Uncovered(ledgers []Ledger) ([]*schema.Gap, GapCoverage) {
	var out []*schema.Gap
	var st GapCoverage
	for i, l := range ledgers {
		for _, g := range l.Gaps {
			st.In++
			rest := []window{{g.FromMs, g.ToMs}}
			chans, insts := gapStreams(l, g)
			for j, other := range ledgers {
				if j != i {
					rest = subtract(rest, other.recorded(chans, insts))
				}
			}
			switch {
			case len(rest) == 0:
				st.Covered++
			case len(rest) == 1 && rest[0] == (window{g.FromMs, g.ToMs}):
				st.Kept++
				out = append(out, g)
			default:
				st.Trimmed++
				for _, w := range rest {
					c := *g
					c.FromMs, c.ToMs, c.Ts = w.from, w.to, w.from
					c.Detail = strings.TrimSpace(c.Detail + " (the rest was recorded by another recorder)")
					out = append(out, &c)
				}
			}
		}
	}
	return out, st
}

// gapStreams returns the channels and instruments a gap concerns: its own, or for a connection-wide gap ("")
// those of the session it fell in.
func gapStreams(l Ledger, g *schema.Gap) (chans, insts []string) {
	chans, insts = []string{g.Channel}, []string{g.InstID}
	if g.Channel != "" && g.InstID != "" {
		return chans, insts
	}
	for _, s := range l.Sessions {
		if s.StartMs <= g.FromMs && (g.FromMs <= l.sessionEnd(s)) {
			if g.Channel == "" {
				chans = schema.SplitList(s.Channels)
			}
			if g.InstID == "" {
				insts = schema.SplitList(s.Instruments)
			}
			return chans, insts
		}
	}
	return nil, nil // no session to say what was subscribed: nothing can prove it covered
}

// sessionEnd is a session's clean-stop time, or the ledger's last stored ts for a session without one.
func (l Ledger) sessionEnd(s *schema.Session) int64 {
	end := s.EndMs
	for _, o := range l.Sessions { // the stop row has the same id and the larger end
		if o.SessionID == s.SessionID {
			end = max(end, o.EndMs)
		}
	}
	if end == 0 {
		end = l.LastTs
	}
	return end
}

// recorded returns the windows in which this ledger recorded every one of the given streams.
func (l Ledger) recorded(chans, insts []string) []window {
	if len(chans) == 0 || len(insts) == 0 {
		return nil
	}
	var ws []window
	for _, s := range l.Sessions {
		if !containsAll(schema.SplitList(s.Channels), chans) || !containsAll(schema.SplitList(s.Instruments), insts) {
			continue
		}
		ws = append(ws, window{s.StartMs, l.sessionEnd(s)})
	}
	for _, g := range l.Gaps {
		if overlapsStreams(g, chans, insts) {
			ws = subtract(ws, []window{{g.FromMs, g.ToMs}})
		}
	}
	return ws
}

// overlapsStreams reports whether gap g (whose "" fields mean "every") touches any of the streams.
func overlapsStreams(g *schema.Gap, chans, insts []string) bool {
	return (g.Channel == "" || slices.Contains(chans, g.Channel)) && (g.InstID == "" || slices.Contains(insts, g.InstID))
}

// subtract returns the parts of ws outside every window of cut (windows are closed intervals in ms).
func subtract(ws, cut []window) []window {
	for _, c := range cut {
		var next []window
		for _, w := range ws {
			if c.to < w.from || c.from > w.to {
				next = append(next, w)
				continue
			}
			if w.from < c.from {
				next = append(next, window{w.from, c.from - 1})
			}
			if c.to < w.to {
				next = append(next, window{c.to + 1, w.to})
			}
		}
		ws = next
	}
	return ws
}

func containsAll(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

// GapReport is one gap of a combined ledger and how much of it some other recorder covered.
type GapReport struct {
	Gap       *schema.Gap `json:"-"`
	Covered   int64       `json:"covered_ms"` // milliseconds of the gap that another recorder recorded
	Uncovered [][2]int64  `json:"uncovered"`  // the windows nobody recorded, [from, to] in ms
}

// Status is "covered", "partly covered" or "gap".
func (r GapReport) Status() string {
	switch {
	case len(r.Uncovered) == 0:
		return "covered"
	case r.Covered > 0:
		return "partly covered"
	}
	return "gap"
}

// CoverageByCount judges each gap of a ledger that mixes several recorders' rows without saying which row is
// whose (a ClickHouse cluster two recorders write into; Uncovered is for ledgers kept apart): at any moment in a
// gap, its stream was recorded if more sessions that subscribed it were running than there were gaps of that
// stream open (each recorder contributes one session and, when it is blind, one gap). A session without a
// clean-stop row counts as running until lastTs (the end of the stored data).
func CoverageByCount(sessions []*schema.Session, gaps []*schema.Gap, lastTs int64) []GapReport {
	l := Ledger{Sessions: sessions, LastTs: lastTs}
	type run struct {
		s        *schema.Session
		from, to int64
	}
	var runs []run
	seen := map[string]bool{}
	for _, s := range sessions {
		if !seen[s.SessionID] {
			seen[s.SessionID] = true
			runs = append(runs, run{s, s.StartMs, l.sessionEnd(s)})
		}
	}
	out := make([]GapReport, 0, len(gaps))
	for _, g := range gaps {
		var subs []window // sessions that subscribed g's stream
		for _, r := range runs {
			if (g.Channel == "" || slices.Contains(schema.SplitList(r.s.Channels), g.Channel)) &&
				(g.InstID == "" || slices.Contains(schema.SplitList(r.s.Instruments), g.InstID)) {
				subs = append(subs, window{r.from, r.to})
			}
		}
		var blind []window // gaps touching g's stream, g included
		for _, o := range gaps {
			if (o.Channel == "" || g.Channel == "" || o.Channel == g.Channel) && (o.InstID == "" || g.InstID == "" || o.InstID == g.InstID) {
				blind = append(blind, window{o.FromMs, o.ToMs})
			}
		}
		out = append(out, countCoverage(g, subs, blind))
	}
	return out
}

// countCoverage sweeps the gap's window at every boundary of subs and blind.
func countCoverage(g *schema.Gap, subs, blind []window) GapReport {
	points := []int64{g.FromMs, g.ToMs + 1}
	for _, w := range append(append([]window(nil), subs...), blind...) {
		for _, p := range []int64{w.from, w.to + 1} {
			if p > g.FromMs && p <= g.ToMs {
				points = append(points, p)
			}
		}
	}
	slices.Sort(points)
	points = slices.Compact(points)
	active := func(ws []window, p int64) int {
		n := 0
		for _, w := range ws {
			if w.from <= p && p <= w.to {
				n++
			}
		}
		return n
	}
	r := GapReport{Gap: g}
	for i := 0; i+1 < len(points); i++ {
		from, to := points[i], points[i+1]-1
		if active(subs, from) > active(blind, from) {
			r.Covered += to - from + 1
			continue
		}
		if n := len(r.Uncovered); n > 0 && r.Uncovered[n-1][1] == from-1 {
			r.Uncovered[n-1][1] = to
		} else {
			r.Uncovered = append(r.Uncovered, [2]int64{from, to})
		}
	}
	return r
}

// GapReports reads the session and gap ledgers of src (rows of every recorder that wrote into it) and judges
// each gap of the selection with CoverageByCount; sessions are read whatever their time (one may have started
// before the selection), and the end of the stored data bounds sessions that never stopped cleanly.
func GapReports(ctx context.Context, src Source, q store.Query) ([]GapReport, error) {
	var sessions []*schema.Session
	var gaps []*schema.Gap
	err := readTable(ctx, src, store.Query{}, schema.SessionTable, func(e schema.Stored) { sessions = append(sessions, e.(*schema.Session)) })
	if err == nil {
		err = readTable(ctx, src, store.Query{From: q.From, To: q.To}, schema.GapTable, func(e schema.Stored) { gaps = append(gaps, e.(*schema.Gap)) })
	}
	if err != nil {
		return nil, err
	}
	data, err := Open(ctx, src, store.Query{}, ReplayTables())
	if err != nil {
		return nil, err
	}
	_, last, _ := data.Bounds()
	data.Close()
	rep := CoverageByCount(sessions, gaps, last)
	m := newMatcher(q, schema.GapTable)
	return slices.DeleteFunc(rep, func(r GapReport) bool { return !m.stream(r.Gap.Channel, r.Gap.InstID) }), nil
}

// readTable hands a copy of every row of one dataset of src selected by q to fn, in replay order.
func readTable(ctx context.Context, src Source, q store.Query, t *schema.Table, fn func(schema.Stored)) error {
	s, err := Open(ctx, src, q, []*schema.Table{t})
	if err != nil {
		return err
	}
	defer s.Close()
	for ev := s.Next(); ev != nil; ev = s.Next() {
		fn(schema.Clone(ev))
	}
	return s.Err()
}
