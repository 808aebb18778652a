package replay

import (
	"slices"
	"strings"

	"github.com/okxtape/okxtape/schema"
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
				chans = splitList(s.Channels)
			}
			if g.InstID == "" {
				insts = splitList(s.Instruments)
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
		if !containsAll(splitList(s.Channels), chans) || !containsAll(splitList(s.Instruments), insts) {
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

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
