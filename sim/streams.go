package sim

import (
	"sync"
	"time"
)

// frameOut is one encoded push and the number of elements in its "data".
type frameOut struct {
	data  []byte
	items int
}

// generator produces the pushes of one (channel, selector) stream. Calls are serialised by the feed.
type generator interface {
	initial(now time.Time) []frameOut // sent to each new subscriber right after its ack
	tick(now time.Time) []frameOut    // sent to every subscriber, Rate times per second
	stop()
}

// feed runs one generator for all connections subscribed to the same stream, so every subscriber sees
// identical frames (same seqIds, tradeIds), as on OKX. It runs while it has subscribers.
//
// Pacing: a feed ticks on its own schedule start+phase+k*interval, where phase spreads the feeds of a
// server evenly over one interval (golden-ratio sequence), so N streams at rate R make N*R frames/s spread
// over time instead of N-frame bursts at every tick. A tick that comes late (timer granularity, a busy
// CPU) is caught up at once rather than dropped, so the stream really delivers Rate frames/s; after a
// stall of more than maxLag the schedule restarts from now instead of bursting the backlog.
type feed struct {
	channel  string
	gen      generator
	interval time.Duration
	phase    time.Duration
	mu       sync.Mutex
	subs     map[*conn]struct{}
	quit     chan struct{}
}

// maxLag bounds how far a feed catches up after a stall.
const maxLag = 100 * time.Millisecond

// feedPhase returns the start offset of the n-th feed within one interval.
func feedPhase(n uint64, interval time.Duration) time.Duration {
	const golden = 0.6180339887498949
	x := float64(n) * golden
	return time.Duration((x - float64(uint64(x))) * float64(interval))
}

func (f *feed) run() {
	defer f.gen.stop()
	if f.interval <= 0 {
		<-f.quit
		return
	}
	next := time.Now().Add(f.phase)
	t := time.NewTimer(f.phase)
	defer t.Stop()
	for {
		select {
		case <-f.quit:
			return
		case <-t.C:
		}
		now := time.Now()
		if now.Sub(next) > maxLag {
			next = now
		}
		f.mu.Lock()
		for !next.After(now) {
			// A tick happens at its scheduled time, also when it is caught up late: two ticks never share an
			// exchange ts (OKX's ts, with the instrument, identifies a push).
			at := next
			next = next.Add(f.interval)
			if len(f.subs) == 0 { // the last subscriber just left (quit is closing): the stream does not advance
				continue
			}
			for _, fr := range f.gen.tick(at) {
				for c := range f.subs {
					c.sendData(f.channel, fr.data, fr.items)
				}
			}
		}
		f.mu.Unlock()
		t.Reset(next.Sub(now))
	}
}

// subscribe starts delivering sb's stream to c (after its ack was queued).
func (s *Server) subscribe(c *conn, sb *sub) {
	if sb.spec.private {
		s.priv.add(c, sb)
		return
	}
	if s.capture != nil {
		c.capturePlayer().add(sb)
		return
	}
	s.feedMu.Lock()
	defer s.feedMu.Unlock()
	f := s.feeds[sb.key]
	if f == nil {
		interval := time.Duration(float64(time.Second) / s.cfg.Rate)
		if sb.spec.once {
			interval = 0
		}
		s.feedN++
		f = &feed{channel: sb.channel, gen: s.newGenerator(sb), interval: interval,
			phase: feedPhase(s.feedN, interval), subs: map[*conn]struct{}{}, quit: make(chan struct{})}
		s.feeds[sb.key] = f
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			f.run()
		}()
	}
	f.mu.Lock()
	for _, fr := range f.gen.initial(time.Now()) {
		c.sendData(f.channel, fr.data, fr.items)
	}
	f.subs[c] = struct{}{}
	f.mu.Unlock()
}

// unsubscribe stops sb's stream for c.
func (s *Server) unsubscribe(c *conn, sb *sub) {
	if sb.spec.private {
		s.priv.remove(c, sb)
		return
	}
	if s.capture != nil {
		c.capturePlayer().remove(sb)
		return
	}
	s.feedMu.Lock()
	defer s.feedMu.Unlock()
	f := s.feeds[sb.key]
	if f == nil {
		return
	}
	f.mu.Lock()
	delete(f.subs, c)
	empty := len(f.subs) == 0
	f.mu.Unlock()
	if empty {
		delete(s.feeds, sb.key)
		close(f.quit)
	}
}

// pushPrefix returns `{"arg":{"channel":ch,"instId":id}` (or instType, or no selector when selKey is ""),
// the start of every push.
func pushPrefix(ch, selKey, selVal string) []byte {
	b := []byte(`{"arg":{`)
	b = appendKV(b, "channel", ch)
	if selKey != "" {
		b = appendKV(b, selKey, selVal)
	}
	return append(b, '}')
}

// genBase is shared by the market-data generators.
type genBase struct {
	s      *Server
	in     *instrument
	m      *market
	prefix []byte
}

func (g *genBase) stop()                        {}
func (g *genBase) initial(time.Time) []frameOut { return nil }

// open starts a push: prefix + optional extra top-level fields + `,"data":[`.
func (g *genBase) open(extra string) []byte {
	b := make([]byte, 0, 512)
	b = append(b, g.prefix...)
	b = append(b, extra...)
	return append(b, `,"data":[`...)
}

func one(b []byte) []frameOut { return []frameOut{{data: append(b, ']', '}'), items: 1}} }

func (g *genBase) px(t int64) string { return fmtFixed(t, g.in.TickDec) }
func (g *genBase) sz(l int64) string { return fmtFixed(l, g.in.LotDec) }

// ---- books, books-l2-tbt, books50-l2-tbt, books-elp, books-rpi ----

// booksGen serves an incremental depth channel. All depth channels of an instrument step its one market, so
// they share its seqId space (as OKX's do). books-rpi (rpi) has no checksum field and levels
// [px, totalQty, nonRpiQty, count].
type booksGen struct {
	genBase
	channel  string
	f        *Faults
	checksum bool
	rpi      bool
	v        *bookView
}

func (g *booksGen) stop() {
	g.m.mu.Lock()
	g.m.detach(g.v)
	g.m.mu.Unlock()
}

func (g *booksGen) initial(now time.Time) []frameOut {
	g.m.mu.Lock()
	defer g.m.mu.Unlock()
	return one(g.frame(now, "snapshot", g.v.bids.lv, g.v.asks.lv, -1, g.v.last, g.cs(false)))
}

func (g *booksGen) cs(bad bool) int64 {
	var c int32
	if g.checksum {
		c = g.in.checksum(g.v.bids.lv, g.v.asks.lv)
	}
	if bad {
		c ^= 0x2b5f39a1
		if c == 0 {
			c = 1
		}
	}
	return int64(c)
}

// tick sends the next update. Faults count the stream's updates since the simulator started, not since this
// feed did: a client that resubscribes after each fault (as a resyncing book manager does) still meets every
// kind of fault, at the same cadence.
func (g *booksGen) tick(now time.Time) []frameOut {
	g.m.mu.Lock()
	g.m.faultN[g.channel]++
	n := g.m.faultN[g.channel]
	g.m.mu.Unlock()
	every := func(k int) bool { return k > 0 && n%k == 0 }
	gap, dup, reset := every(g.f.BookGapEvery), every(g.f.BookDupEvery), every(g.f.BookResetEvery)
	bad, cross := every(g.f.BookBadChecksumEvery), every(g.f.BookCrossedEvery)
	force := gap || dup || reset || bad || cross
	if force {
		for _, f := range [...]struct {
			on   bool
			kind string
		}{{gap, "book_gap"}, {dup, "book_dup"}, {reset, "book_reset"}, {bad, "book_bad_checksum"}, {cross, "book_crossed"}} {
			if f.on {
				g.s.stats.fault(f.kind)
			}
		}
	}
	if gap {
		g.next(now, true, false, false, false) // generated, never sent
	}
	fr := g.next(now, force, cross, reset, bad)
	if dup {
		return []frameOut{{data: fr, items: 1}, {data: fr, items: 1}}
	}
	return []frameOut{{data: fr, items: 1}}
}

// next steps the book (unless idle) and encodes the update that brings subscribers to the new state.
func (g *booksGen) next(now time.Time, force, cross, reset, bad bool) []byte {
	m, v := g.m, g.v
	m.mu.Lock()
	defer m.mu.Unlock()
	if force {
		m.change()
	} else {
		m.step()
	}
	if cross {
		m.crossBook()
	}
	if reset && v.last > 0 {
		m.seq = min(v.last-1, m.seq/2)
	}
	bids, asks := m.update(v)
	prev, seq := v.last, m.seq
	v.last = seq
	b := g.frame(now, "update", bids, asks, prev, seq, g.cs(bad))
	return append(b, ']', '}')
}

func (g *booksGen) frame(now time.Time, action string, bids, asks []level, prev, seq, cs int64) []byte {
	b := make([]byte, 0, 64+len(g.prefix)+40*(len(bids)+len(asks)))
	b = append(b, g.prefix...)
	b = appendKV(b, "action", action)
	b = append(b, `,"data":[{"asks":`...)
	b = g.in.appendBookLevels(b, asks, g.rpi)
	b = append(b, `,"bids":`...)
	b = g.in.appendBookLevels(b, bids, g.rpi)
	b = appendKMs(b, "ts", now.UnixMilli())
	if !g.rpi {
		b = appendKInt(b, "checksum", cs)
	}
	b = appendKInt(b, "prevSeqId", prev)
	b = appendKInt(b, "seqId", seq)
	return append(b, '}')
}

// ---- books5, bbo-tbt: full top-N snapshots ----

type topGen struct {
	genBase
	depth    int
	withInst bool
}

func (g *topGen) initial(now time.Time) []frameOut { return g.emit(now, false) }
func (g *topGen) tick(now time.Time) []frameOut    { return g.emit(now, true) }

func (g *topGen) emit(now time.Time, step bool) []frameOut {
	m := g.m
	m.mu.Lock()
	if step {
		m.step()
	}
	b := g.open("")
	b = append(b, `{"asks":`...)
	b = g.in.appendLevels(b, m.asks.top(g.depth))
	b = append(b, `,"bids":`...)
	b = g.in.appendLevels(b, m.bids.top(g.depth))
	seq := m.seq
	m.mu.Unlock()
	if g.withInst {
		b = appendKV(b, "instId", g.in.ID)
	}
	b = appendKMs(b, "ts", now.UnixMilli())
	b = appendKInt(b, "seqId", seq)
	return one(append(b, '}'))
}

// ---- instruments ----

type instrumentsGen struct {
	s        *Server
	prefix   []byte
	instType string
}

func (g *instrumentsGen) stop()                     {}
func (g *instrumentsGen) tick(time.Time) []frameOut { return nil }
func (g *instrumentsGen) initial(time.Time) []frameOut {
	b := append(append([]byte(nil), g.prefix...), `,"data":[`...)
	n := 0
	for _, in := range g.s.insts {
		if in.Type != g.instType || !in.listed() {
			continue
		}
		if n > 0 {
			b = append(b, ',')
		}
		b = appendInstrumentJSON(b, in)
		n++
	}
	if n == 0 {
		return nil
	}
	return []frameOut{{data: append(b, ']', '}'), items: n}}
}
