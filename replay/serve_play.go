package replay

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/gorilla/websocket"

	"github.com/okxtape/okxtape/ingest/book"
)

// joinChunks is how many chunks a chain may have produced and still accept new connections: connections
// that start within that stretch of the range share it.
const joinChunks = 8

// defaultMaxLag is how many chunks a connection may fall behind its chain's frontier before it detaches onto
// a read of its own (so one slow client does not pin the chunks the fast ones have passed).
const defaultMaxLag = 2 * joinChunks

// subState is where a subscription stands in the playback.
type subState uint8

const (
	subLive     subState = iota // its stream's frames are sent
	subJoin                     // a depth subscription waiting for its snapshot at the current playback time
	subWaitSnap                 // a depth subscription waiting for the next stored snapshot (no book yet)
)

// sub is one accepted subscription of a connection.
type sub struct {
	arg   wireArg
	echo  []byte // the arg as sent (compacted), for server-side unsubscribes
	state subState
}

// startChain returns the first chunk of the chain a new playback reads and the function that releases it:
// the young shared chain when there is one (Speed > 0), else a new chain.
func (s *Server) startChain() (*chunk, func(), error) {
	s.tmu.Lock()
	defer s.tmu.Unlock()
	if ch := s.open; ch != nil && ch.chunks.Load() <= joinChunks {
		ch.refs++
		return s.head, func() { s.release(ch) }, nil
	}
	s.open, s.head = nil, nil
	ch, head, err := s.newChain()
	if err != nil {
		return nil, nil, err
	}
	s.stats.Chains.Add(1)
	ch.refs = 1
	s.open, s.head = ch, head
	return head, func() { s.release(ch) }, nil
}

// detach gives a connection that lags maxLag chunks behind its shared chain a chain of its own, read up to
// the same place: it returns the chunk after position idx (nil at the end) and the new chain's release.
func (s *Server) detach(idx int64) (*chunk, func(), error) {
	ch, k, err := s.newChain()
	if err != nil {
		return nil, nil, err
	}
	s.stats.Chains.Add(1)
	s.stats.Detached.Add(1)
	s.tmu.Lock()
	ch.refs = 1
	s.tmu.Unlock()
	for k != nil && k.idx <= idx {
		k = k.nextChunk()
	}
	return k, func() { s.release(ch) }, nil
}

// advance returns the chunk after k, detaching the connection first when it lags too far behind.
func (c *wsConn) advance(k *chunk, release *func()) (*chunk, error) {
	if k.chain.chunks.Load()-1-k.idx <= c.s.maxLag {
		return k.nextChunk(), nil
	}
	n, rel, err := c.s.detach(k.idx)
	if err != nil {
		return nil, err
	}
	c.s.log.Debug("replay serve: connection lags its shared read, reading on its own", "conn", c.id, "chunk", k.idx)
	(*release)()
	*release = rel
	return n, nil
}

// release drops a connection's hold on a chain; the last one closes its read.
func (s *Server) release(ch *chain) {
	s.tmu.Lock()
	ch.refs--
	last := ch.refs == 0
	if last && s.open == ch {
		s.open, s.head = nil, nil
	}
	s.tmu.Unlock()
	if last {
		ch.close()
	}
}

// retire stops new connections from joining ch (called once it has grown past joinChunks), so the server no
// longer holds its first chunk.
func (s *Server) retire(ch *chain) {
	s.tmu.Lock()
	if s.open == ch {
		s.open, s.head = nil, nil
	}
	s.tmu.Unlock()
}

// play runs the connection's playback: one clock, every event of the range in order, sending what the
// connection is subscribed to and building late depth snapshots at the current position.
func (c *wsConn) play() {
	defer c.s.wg.Done()
	k, release, err := c.s.startChain()
	if err != nil {
		lvl := slog.LevelError
		if c.ctx.Err() != nil || c.s.ctx.Err() != nil {
			lvl = slog.LevelDebug // the client went away or the server is stopping
		}
		c.s.log.Log(c.ctx, lvl, "replay serve: opening the stream", "conn", c.id, "err", err)
		return
	}
	defer func() { release() }()
	clk := clock{speed: c.s.o.Speed}
	var bk book.Book
	last := k
	for k != nil {
		last = k
		for i := range k.evs {
			ev := &k.evs[i]
			for {
				if c.joins.Load() && c.doJoins(k, i, &bk) != nil {
					return
				}
				woken, err := clk.wait(c.ctx, c.wake, ev.ts)
				if err != nil {
					return
				}
				if !woken {
					break
				}
			}
			if c.deliver(ev) != nil {
				return
			}
		}
		if k, err = c.advance(k, &release); err != nil {
			c.s.log.Error("replay serve: opening the stream", "conn", c.id, "err", err)
			return
		}
	}
	if last.chain.failed(c) {
		// The stored range could not be read to its end: tell the client instead of going silent.
		_ = c.fail("", "64007", "Operation subscribe failed due to WebSocket internal error")
		c.out.CloseWith(websocket.CloseInternalServerErr, "stored data unreadable")
		return
	}
	for { // the range is exhausted: later depth subscriptions get the final book
		if c.joins.Load() && c.doJoins(last, len(last.evs), &bk) != nil {
			return
		}
		select {
		case <-c.ctx.Done():
			return
		case <-c.wake:
		}
	}
}

// deliver sends ev if the connection is subscribed to its stream.
func (c *wsConn) deliver(ev *tapeEvent) error {
	if ev.frame == nil || ev.endpoint != c.endpoint {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	sb := c.match(ev)
	if sb == nil {
		return nil
	}
	switch sb.state {
	case subJoin:
		return nil // (joins are made before each event)
	case subWaitSnap:
		if ev.depth == nil || !ev.depth.snapshot {
			return nil
		}
		sb.state = subLive
	}
	return c.send(ev.frame)
}

// match returns the subscription ev belongs to (c.mu held).
func (c *wsConn) match(ev *tapeEvent) *sub {
	if sb := c.byStream[ev.id]; sb != nil {
		return sb
	}
	for _, sb := range c.wide {
		a := &sb.arg
		if a.Channel != ev.id.channel {
			continue
		}
		if a.InstID != "" && a.InstID != ev.id.inst ||
			a.InstType != "" && a.InstType != "ANY" && ev.instType != "" && a.InstType != ev.instType ||
			a.InstFamily != "" && ev.id.inst != "" && a.InstFamily != instFamilyOf(ev.id.inst) {
			continue
		}
		return sb
	}
	return nil
}

// doJoins sends the snapshot of every depth subscription waiting for one, as the book stands before event i
// of chunk k (the current playback position).
func (c *wsConn) doJoins(k *chunk, i int, bk *book.Book) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.joins.Store(false)
	for id, sb := range c.byStream {
		if sb.state != subJoin {
			continue
		}
		bk.Reset()
		seq, ts, ok := k.join(id, i, bk)
		if !ok {
			sb.state = subWaitSnap
			continue
		}
		sb.state = subLive
		var ck int64
		if checksumEra(id.channel, ts) {
			ck = int64(book.Checksum(bk))
		}
		frame := appendBookSnapshot(nil, id, bk, bookDepth(id.channel), seq, ts, ck)
		if err := c.send(frame); err != nil {
			return err
		}
	}
	return nil
}

// failed reports whether the chain's read failed (not by cancellation), logging the error once per chain.
func (ch *chain) failed(c *wsConn) bool {
	ch.mu.Lock()
	err := ch.err
	ch.mu.Unlock()
	if err == nil || ch.s.ctx.Err() != nil || errors.Is(err, context.Canceled) {
		return false
	}
	ch.errOnce.Do(func() {
		c.s.log.Error("replay serve: reading the stored range failed; closing its connections with 1011", "err", err)
	})
	return true
}

// clock is a connection's playback clock: event time ts is due at wall + (ts - origin) / speed.
type clock struct {
	speed   float64
	started bool
	origin  int64
	wall    time.Time
	timer   *time.Timer
}

// wait blocks until ts is due; woken is true when wake fired first (the caller handles it and waits again).
func (k *clock) wait(ctx context.Context, wake <-chan struct{}, ts int64) (woken bool, err error) {
	if err := ctx.Err(); err != nil || k.speed <= 0 {
		return false, err
	}
	if !k.started {
		k.started, k.origin, k.wall = true, ts, time.Now()
		return false, nil
	}
	d := time.Until(k.wall.Add(time.Duration(float64(ts-k.origin) * float64(time.Millisecond) / k.speed)))
	if d < time.Millisecond {
		return false, nil
	}
	if k.timer == nil {
		k.timer = time.NewTimer(d)
	} else {
		k.timer.Reset(d)
	}
	select {
	case <-ctx.Done():
		k.timer.Stop()
		return false, ctx.Err()
	case <-wake:
		k.timer.Stop()
		return true, nil
	case <-k.timer.C:
		return false, nil
	}
}
