package ingest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/okxtape/okxtape/ingest/book"
	"github.com/okxtape/okxtape/ingest/decode"
	"github.com/okxtape/okxtape/schema"
)

// slot is one connection's worth of subscriptions on one endpoint ("public#0"). Its supervisor goroutine
// keeps a connection up for it: connect, (login,) subscribe, serve, and on loss report the outage and
// reconnect with backoff; on a 64008 notice it hands over to a fresh connection before the old one closes.
type slot struct {
	c        *Client
	label    string
	endpoint string
	url      string
	login    bool
	books    *book.Manager

	mu        sync.Mutex
	args      []decode.Arg // copy on write: Add and Remove (dynamic.go) replace the slice, never edit it
	detail    string       // the args, for gap ledger rows
	cur       *conn
	firstDial time.Time

	window  atomic.Pointer[handoverWindow] // open during a handover's overlap (handover.go)
	wasUp   atomic.Bool                    // the slot has been connected at least once
	lastErr atomic.Value                   // string: the last connect error (scrubbed)
}

func newSlot(c *Client, endpoint string, i int, args []decode.Arg) *slot {
	s := &slot{c: c, label: fmt.Sprintf("%s#%d", endpoint, i), endpoint: endpoint,
		url: c.cfg.WSURL + endpointPath(endpoint)}
	for _, a := range args {
		if needsLogin(a.Channel) && !c.cfg.Credentials.Empty() {
			s.login = true
		}
	}
	s.login = s.login || endpoint == schema.EndpointPrivate
	s.setArgs(args)
	return s
}

// setArgs replaces the slot's args and their description. Called with mu held (or before the slot runs).
func (s *slot) setArgs(args []decode.Arg) {
	names := make([]string, len(args))
	for j, a := range args {
		names[j] = argString(a)
	}
	s.args, s.detail = args, strings.Join(names, ",")
}

// subscriptions returns the slot's current args (a slice that is never modified) and their description.
func (s *slot) subscriptions() ([]decode.Arg, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.args, s.detail
}

func (s *slot) current() *conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur
}

func (s *slot) setCurrent(cn *conn) {
	s.mu.Lock()
	s.cur = cn
	s.mu.Unlock()
}

// establish opens a connection and brings it to the subscribed state; it returns the args it subscribed
// (the slot's at the time), for adopt. Until the slot has been up once, the attempt is bounded by
// ConnectTimeout counted from the slot's first dial.
func (s *slot) establish(ctx context.Context, everUp bool) (*conn, []decode.Arg, error) {
	if err := s.c.connLimiter.Wait(ctx); err != nil {
		return nil, nil, err
	}
	cfg := &s.c.cfg
	if !everUp {
		if s.firstDial.IsZero() {
			s.firstDial = time.Now()
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, s.firstDial.Add(cfg.ConnectTimeout))
		defer cancel()
	}
	cn, err := s.c.dial(ctx, s)
	if err != nil {
		return nil, nil, err
	}
	if s.login {
		if err := cn.login(ctx, cfg.AckTimeout); err != nil {
			cn.kill("login failed")
			return nil, nil, err
		}
	}
	args, _ := s.subscriptions()
	if err := cn.send("subscribe", args); err != nil {
		cn.kill("subscribe failed")
		return nil, nil, err
	}
	if err := cn.waitAcks(ctx, args, cfg.AckTimeout); err != nil {
		cn.kill("subscribe failed")
		return nil, nil, err
	}
	return cn, args, nil
}

// run is the slot's supervisor loop; it returns when ctx ends or on a fatal error (reported to the client).
func (s *slot) run(ctx context.Context) {
	c := s.c
	bo := backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(c.cfg.Backoff.Initial), backoff.WithMaxInterval(c.cfg.Backoff.Max),
		backoff.WithRandomizationFactor(c.cfg.Backoff.Jitter), backoff.WithMultiplier(2),
		backoff.WithMaxElapsedTime(0))
	everUp := false
	var outageFrom int64 // ms; 0 while up or before the first connection
	var lastReason string
	for {
		if ctx.Err() != nil {
			if outageFrom != 0 {
				s.gap(outageFrom, nowMs(), lastReason+"; still down at shutdown")
			}
			return
		}
		cn, subscribed, err := s.establish(ctx, everUp)
		if err != nil {
			if ctx.Err() != nil {
				continue
			}
			var le *LoginError
			if errors.As(err, &le) && le.Fatal {
				c.log.Error(le.Error(), "conn", s.label)
				c.fail(le)
				return
			}
			s.lastErr.Store(c.scrub.scrub(err.Error()))
			if !everUp && time.Since(s.firstDial) >= c.cfg.ConnectTimeout {
				c.fail(fmt.Errorf("ingest: %s could not connect to %s within %s: %w", s.label, s.url,
					c.cfg.ConnectTimeout, err))
				return
			}
			d := bo.NextBackOff()
			c.log.Warn("connect failed; retrying", "conn", s.label, "err", c.scrub.scrub(err.Error()),
				"in", d.Round(time.Millisecond))
			sleep(ctx, d)
			continue
		}
		if !everUp {
			s.checkRefused(cn, subscribed)
		}
		upAt := time.Now()
		s.up(cn, subscribed, everUp, outageFrom)
		everUp = true
		outageFrom, lastReason = s.serve(ctx, cn)
		// A connection that held for a while resets the backoff: the next reconnect is immediate. One lost
		// soon after it came up (a server that drops every new connection, a message that kills it each
		// time) backs off like a failed dial, so a fault that repeats never becomes a reconnect loop.
		if time.Since(upAt) >= 10*c.cfg.Backoff.Initial {
			bo.Reset()
		} else if ctx.Err() == nil {
			d := bo.NextBackOff()
			c.log.Warn("connection lost soon after it came up; waiting before reconnecting", "conn", s.label,
				"reason", lastReason, "in", d.Round(time.Millisecond))
			sleep(ctx, d)
		}
	}
}

// up makes cn the slot's connection and reports it; after an outage it also writes the gap ledger row.
func (s *slot) up(cn *conn, subscribed []decode.Arg, reconnect bool, outageFrom int64) {
	c := s.c
	s.adopt(cn, subscribed)
	s.wasUp.Store(true)
	c.opened.Add(1)
	metricConnections.WithLabelValues(s.endpoint).Inc()
	c.upConns.Add(1)
	now := time.Now()
	ms := now.UnixMilli()
	ev := &schema.Connected{Header: schema.Header{RecvNs: now.UnixNano(), Ts: ms}, Conn: s.label, URL: s.url,
		ConnID: cn.connIDString(), Reconnect: reconnect}
	if reconnect {
		c.reconnects.Add(1)
		metricReconnects.WithLabelValues(s.endpoint).Inc()
		ev.OutageFromMs = outageFrom
		c.log.Info("reconnected", "conn", s.label, "outage", time.Duration(ms-outageFrom)*time.Millisecond)
	} else {
		args, _ := s.subscriptions()
		c.log.Info("connected", "conn", s.label, "url", s.url, "args", len(args), "connId", ev.ConnID)
	}
	c.cfg.Emit(ev)
	if reconnect && outageFrom > 0 {
		s.gap(outageFrom, ms, "")
	}
}

func (s *slot) gap(from, to int64, note string) {
	_, d := s.subscriptions()
	if note != "" {
		d = note + ": " + d
	}
	s.c.cfg.Emit(&schema.Gap{Header: schema.Header{RecvNs: time.Now().UnixNano(), Ts: from}, FromMs: from,
		ToMs: to, Reason: schema.GapDisconnect, Conn: s.label, Detail: d})
}

// down reports the loss of the slot's connection. It returns the outage start: the time of the last frame
// received. The books are the caller's to reset (see lost).
func (s *slot) down(cn *conn) int64 {
	c := s.c
	s.setCurrent(nil)
	metricConnections.WithLabelValues(s.endpoint).Dec()
	c.upConns.Add(-1)
	from := cn.lastRecv.Load() / int64(time.Millisecond)
	reason := cn.Reason()
	c.log.Warn("disconnected", "conn", s.label, "reason", reason, "connId", cn.connIDString())
	now := time.Now()
	c.cfg.Emit(&schema.Disconnected{Header: schema.Header{RecvNs: now.UnixNano(), Ts: now.UnixMilli()},
		Conn: s.label, Reason: reason})
	return from
}

// resetBooks resets the slot's books: no connection delivers them until the next one subscribes.
func (s *slot) resetBooks() {
	args, _ := s.subscriptions()
	for _, a := range args {
		if isBookChannel(a.Channel) {
			s.books.Reset(a.Channel, a.InstID)
		}
	}
}

// lost handles the loss of the slot's connection cn (reported as an outage). A handover in flight (ho) becomes
// the reconnect, returned as next, and the books are not reset: that connection is already subscribed and its
// book messages already reach the book manager, which joins them to what cn delivered by seqId (a reset
// would let its first snapshot, possibly older than cn's last update, take the books back in seqId).
// Otherwise, or when the handover failed, the books are reset and next is nil.
func (s *slot) lost(cn *conn, ho <-chan handoverResult, w *handoverWindow) (next *conn, from int64) {
	from = s.down(cn)
	if ho != nil {
		r := <-ho
		s.endHandover(w, cn)
		if r.err == nil {
			s.up(r.cn, r.args, true, from)
			return r.cn, from
		}
	}
	s.resetBooks()
	return nil, from
}

type handoverResult struct {
	cn   *conn
	args []decode.Arg // subscribed on cn
	err  error
}

// serve watches the slot's connection until it is lost (returning the outage start and reason) or ctx ends
// (returning 0). A 64008 notice starts a make-before-break handover: a second connection logs in and
// subscribes the same args; once it is acked the old connection is closed. Both deliver data during the
// overlap: the handover window drops what the other connection already delivered, and the book manager,
// shared by both, never lets a book go back below the seqId it last emitted (book/stale.go).
func (s *slot) serve(ctx context.Context, cn *conn) (int64, string) {
	c := s.c
	var ho chan handoverResult
	var retry <-chan time.Time
	var window *handoverWindow
	startHandover := func() {
		window = s.beginHandover(cn)
		ho = make(chan handoverResult, 1)
		go func(out chan<- handoverResult) {
			ncn, args, err := s.establish(ctx, true)
			out <- handoverResult{ncn, args, err}
		}(ho)
	}
	for {
		select {
		case <-ctx.Done():
			s.shutdown(cn, ho)
			return 0, ""
		case <-cn.notice:
			if ho == nil && retry == nil {
				c.log.Info("service-upgrade notice; handing over to a new connection", "conn", s.label)
				startHandover()
			}
		case <-retry:
			retry = nil
			if ho == nil {
				startHandover()
			}
		case r := <-ho:
			ho = nil
			if r.err != nil {
				var le *LoginError
				if errors.As(r.err, &le) && le.Fatal {
					c.fail(le)
					s.shutdown(cn, nil)
					return 0, ""
				}
				s.endHandover(window, nil)
				c.log.Warn("handover failed; retrying", "conn", s.label, "err", c.scrub.scrub(r.err.Error()))
				retry = time.After(c.cfg.Backoff.Initial * 10)
				continue
			}
			old := cn
			cn = r.cn
			s.adopt(cn, r.args)
			old.close("handed over to a new connection", true)
			s.endHandover(window, old)
			c.handovers.Add(1)
			c.opened.Add(1)
			now := time.Now()
			c.cfg.Emit(&schema.Connected{Header: schema.Header{RecvNs: now.UnixNano(), Ts: now.UnixMilli()},
				Conn: s.label, URL: s.url, ConnID: cn.connIDString(), Reconnect: true, OutageFromMs: now.UnixMilli()})
			c.log.Info("handed over", "conn", s.label, "connId", cn.connIDString())
		case <-cn.done:
			reason := cn.Reason()
			next, from := s.lost(cn, ho, window)
			if next != nil {
				cn, ho = next, nil
				continue
			}
			return from, reason
		}
	}
}

// shutdown closes the slot's connections on ctx end and waits for their readers.
func (s *slot) shutdown(cn *conn, ho chan handoverResult) {
	cn.close("shutdown", true)
	<-cn.done
	s.setCurrent(nil)
	metricConnections.WithLabelValues(s.endpoint).Dec()
	s.c.upConns.Add(-1)
	if ho != nil {
		if r := <-ho; r.cn != nil {
			r.cn.close("shutdown", true)
			<-r.cn.done
		}
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

func nowMs() int64 { return time.Now().UnixMilli() }
