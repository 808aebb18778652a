package sim

import (
	"sort"
	"strings"
	"time"
)

// Listings and delistings at run time (Config.ListEvery): the universe is built with a reserve of bases
// whose instruments are hidden (not listed: absent from REST and the instruments channel, refused on
// subscribe). Every ListEvery the next reserved pair (SPOT + SWAP) is listed, and one period later delisted
// (state "expired"); each change is pushed on the instruments channel as an incremental push, as OKX does.

// Instrument states.
const (
	stateLive int32 = iota
	stateHidden
	stateExpired
)

// listReserve is the number of bases kept for run-time listings when ListEvery is set.
const listReserve = 8

func (in *instrument) listed() bool { return in.state.Load() == stateLive }

func (in *instrument) stateName() string {
	if in.state.Load() == stateExpired {
		return "expired"
	}
	return "live"
}

// listingLoop lists and delists the reserved pairs until Close.
func (s *Server) listingLoop(reserve [][]*instrument) {
	defer s.wg.Done()
	t := time.NewTicker(s.cfg.ListEvery)
	defer t.Stop()
	for k := 0; k < 2*len(reserve); k++ {
		select {
		case <-s.closed:
			return
		case <-t.C:
		}
		state := stateLive
		if k%2 == 1 {
			state = stateExpired
		}
		for _, in := range reserve[k/2] {
			in.state.Store(state)
			s.pushInstrument(in)
			s.log.Info("instrument state", "instId", in.ID, "state", in.stateName())
		}
	}
}

// pushInstrument sends in (its current state) to every instruments subscriber of its type.
func (s *Server) pushInstrument(in *instrument) {
	b := pushPrefix("instruments", "instType", in.Type)
	b = append(b, `,"data":[`...)
	b = appendInstrumentJSON(b, in)
	b = append(b, ']', '}')
	s.feedMu.Lock()
	f := s.feeds["instruments||"+in.Type+"||"]
	s.feedMu.Unlock()
	if f == nil {
		return
	}
	f.mu.Lock()
	for c := range f.subs {
		c.sendData(f.channel, b, 1)
	}
	f.mu.Unlock()
}

// subscribedStreams returns the number of connections subscribed to each market-data stream, keyed
// "channel:selector" (e.g. "tickers:BTC-USDT-SWAP", "instruments:SWAP").
func (s *Server) subscribedStreams() map[string]int {
	out := map[string]int{}
	s.feedMu.Lock()
	feeds := make(map[string]*feed, len(s.feeds))
	for k, f := range s.feeds {
		feeds[k] = f
	}
	s.feedMu.Unlock()
	for k, f := range feeds {
		parts := strings.Split(k, "|")
		var sel []string
		for _, p := range parts[1:] {
			if p != "" {
				sel = append(sel, p)
			}
		}
		f.mu.Lock()
		n := len(f.subs)
		f.mu.Unlock()
		if n > 0 {
			out[parts[0]+":"+strings.Join(sel, ",")] = n
		}
	}
	return out
}

// splitReserve hides the instruments beyond the first n bases and returns them as pairs, in listing order.
func splitReserve(insts []*instrument, n int) [][]*instrument {
	byBase := map[string][]*instrument{}
	var bases []string
	for i, in := range insts {
		if i < 2*n {
			continue
		}
		in.state.Store(stateHidden)
		if byBase[in.Base] == nil {
			bases = append(bases, in.Base)
		}
		byBase[in.Base] = append(byBase[in.Base], in)
	}
	out := make([][]*instrument, 0, len(bases))
	for _, b := range bases {
		pair := byBase[b]
		sort.SliceStable(pair, func(i, j int) bool { return pair[i].Type < pair[j].Type })
		out = append(out, pair)
	}
	return out
}
