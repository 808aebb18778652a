package ingest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/gorilla/websocket"
	"github.com/okxtape/okxtape/ingest/decode"
	"github.com/okxtape/okxtape/internal/wslimit"
	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/schema/channels"
)

const (
	writeTimeout = 10 * time.Second
	drainTimeout = time.Second // how long a closing connection keeps reading for the server's close frame
)

var errNotConnected = errors.New("ingest: connection not up")

// conn is one WebSocket connection. One reader goroutine classifies and decodes frames; one keepalive
// goroutine pings. Writes (requests, ping, close) are serialised by wmu. It ends when the socket fails or is
// closed; done is then closed and reason says why.
type conn struct {
	c        *Client
	s        *slot
	label    string
	endpoint string
	url      string
	ws       *websocket.Conn
	budget   *requestBudget
	openedNs int64

	wmu sync.Mutex

	lastRecv atomic.Int64 // Unix ns of the last frame received
	pingSent atomic.Int64 // Unix ns of an unanswered ping, 0 if none
	connID   atomic.Pointer[string]

	done      chan struct{}
	closing   chan struct{} // closed when we start closing: the reader then drains until drainTimeout
	closeOnce sync.Once
	reasonMu  sync.Mutex
	reason    string
	quiet     atomic.Bool // closed by us on purpose (handover, shutdown): no Disconnected
	notice    chan struct{}

	mu       sync.Mutex
	loginCh  chan error          // non-nil while a login is pending
	requests map[string]*request // subscribe requests by id
	state    map[string]argState // per argKey
	unsubs   map[string]int      // unsubscribes we asked for, per argKey
	lastErr  time.Time
	firstErr *OKXError // the first error event answering a subscribe request

	// reader-goroutine state
	pipe  *Pipeline
	raw   schema.Raw
	cur   *chanCounters
	chans map[string]*chanCounters // by wire channel, registry channels only
	other *chanCounters            // every channel the registry does not know

	idh     idHasher // exchange identities of events (handover.go)
	lastMu  sync.Mutex
	lastIDs map[streamKey]uint64 // latest identity per value-channel stream, seeds a handover window
}

// dial opens a connection for s (after the client's connection-rate limiter) and starts its goroutines.
func (c *Client) dial(ctx context.Context, s *slot) (*conn, error) {
	d := websocket.Dialer{
		EnableCompression: true,
		HandshakeTimeout:  c.cfg.AckTimeout,
		Proxy:             http.ProxyFromEnvironment,
		ReadBufferSize:    64 << 10,
		WriteBufferSize:   16 << 10,
	}
	ws, resp, err := d.DialContext(ctx, s.url, nil)
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("dial %s: %w (HTTP %d)", s.url, err, resp.StatusCode)
		}
		return nil, fmt.Errorf("dial %s: %w", s.url, err)
	}
	cn := c.newConn(s, ws)
	c.connWG.Add(2)
	go func() {
		defer c.connWG.Done()
		cn.readLoop()
	}()
	go func() {
		defer c.connWG.Done()
		cn.keepalive()
	}()
	return cn, nil
}

// newConn returns the connection of s over ws, its goroutines not started.
func (c *Client) newConn(s *slot, ws *websocket.Conn) *conn {
	now := time.Now().UnixNano()
	cn := &conn{
		c: c, s: s, label: s.label, endpoint: s.endpoint, url: s.url, ws: ws, openedNs: now,
		budget: newRequestBudget(480, time.Hour),
		done:   make(chan struct{}), closing: make(chan struct{}), notice: make(chan struct{}, 1),
		requests: map[string]*request{}, state: map[string]argState{}, unsubs: map[string]int{},
		pipe: NewPipeline(s.books, c.cfg.Emit), chans: map[string]*chanCounters{},
	}
	cn.pipe.OnEvent, cn.pipe.Admit = cn.count, cn.admit
	cn.lastRecv.Store(now)
	return cn
}

// write sends one text frame.
func (cn *conn) write(b []byte) error {
	cn.wmu.Lock()
	defer cn.wmu.Unlock()
	_ = cn.ws.SetWriteDeadline(time.Now().Add(writeTimeout))
	return cn.ws.WriteMessage(websocket.TextMessage, b)
}

// close starts closing the connection: it sends a close frame, lets the reader drain frames already in flight
// for up to drainTimeout, then drops the socket. quiet marks a close we chose (no Disconnected).
func (cn *conn) close(reason string, quiet bool) {
	cn.closeOnce.Do(func() {
		if quiet {
			cn.quiet.Store(true)
		}
		cn.setReason(reason)
		close(cn.closing)
		msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
		if err := cn.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second)); err != nil {
			_ = cn.ws.Close()
			return
		}
		_ = cn.ws.SetReadDeadline(time.Now().Add(drainTimeout))
	})
}

// kill drops the socket at once (dead peer).
func (cn *conn) kill(reason string) {
	cn.setReason(reason)
	cn.closeOnce.Do(func() { close(cn.closing) })
	_ = cn.ws.Close()
}

func (cn *conn) setReason(r string) {
	cn.reasonMu.Lock()
	if cn.reason == "" {
		cn.reason = r
	}
	cn.reasonMu.Unlock()
}

// Reason says why the connection ended (valid after done is closed).
func (cn *conn) Reason() string {
	cn.reasonMu.Lock()
	defer cn.reasonMu.Unlock()
	return cn.reason
}

func (cn *conn) isClosing() bool {
	select {
	case <-cn.closing:
		return true
	default:
		return false
	}
}

func (cn *conn) connIDString() string {
	if p := cn.connID.Load(); p != nil {
		return *p
	}
	return ""
}

func describeReadError(err error) string {
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		s := "server closed the connection: " + strconv.Itoa(ce.Code)
		if ce.Text != "" {
			s += " " + ce.Text
		}
		return s
	}
	return "read: " + err.Error()
}

func (cn *conn) readLoop() {
	defer func() {
		_ = cn.ws.Close()
		close(cn.done)
	}()
	// Decompressed bytes are limited per message: gorilla's own limit counts compressed bytes, so a small
	// permessage-deflate message could inflate without bound. An oversized message is skipped (its rest is
	// discarded undecompressed) and counted; the connection stays up.
	rd := wslimit.NewReader(cn.ws, wslimit.ReadOptions{MaxMessage: cn.c.cfg.MaxMessageBytes})
	for {
		_, msg, err := rd.Read()
		recvNs := time.Now().UnixNano()
		if wslimit.IsTooLarge(err) {
			cn.lastRecv.Store(recvNs)
			cn.c.decodeError("oversized", cn.label, err)
			continue
		}
		if err != nil {
			cn.setReason(describeReadError(err))
			return
		}
		cn.lastRecv.Store(recvNs)
		cn.handle(msg, recvNs)
	}
}

// handle classifies and dispatches one frame. It never fails: bad frames are counted and logged once per kind.
func (cn *conn) handle(frame []byte, recvNs int64) {
	c := cn.c
	env := &cn.pipe.Env
	if err := cn.pipe.Envelope(frame); err != nil {
		c.decodeError("malformed", cn.label, err)
		cn.emitRaw(frame, recvNs, "", "")
		return
	}
	switch env.Kind {
	case decode.FramePong:
		return
	case decode.FrameEvent:
		cn.handleEvent(env, recvNs)
		return
	}
	ch := env.Arg.Channel
	cc := cn.chans[ch]
	if cc == nil {
		cc = cn.counters(ch)
	}
	cn.cur = cc
	cc.frames.Inc()
	cc.statsFr.Add(1)
	cn.emitRaw(frame, recvNs, ch, env.Arg.InstID)
	if _, err := cn.pipe.Push(frame, recvNs); err != nil {
		c.pushError(cn.label, err)
	}
}

// counters returns the counters of a channel first seen on this connection: its own for a registry channel
// (cached), the shared channels.Other ones for any other name (not cached, so junk names cannot grow the map
// or the metrics' label set).
func (cn *conn) counters(ch string) *chanCounters {
	label := channels.Label(ch)
	if label == channels.Other {
		if cn.other == nil {
			cn.other = cn.c.chanCounters(cn.endpoint, label)
		}
		return cn.other
	}
	cc := cn.c.chanCounters(cn.endpoint, label)
	cn.chans[ch] = cc
	return cc
}

func (cn *conn) emitRaw(frame []byte, recvNs int64, channel, instID string) {
	c := cn.c
	if !c.cfg.RawFrames || c.scrub.containsSecret(frame) {
		return
	}
	// Frame aliases the read buffer (no copy per frame): valid only during Emit, as the engine's ownership
	// contract says of every event; the recorder copies it into the spool, a handler that keeps it clones it.
	cn.raw = schema.Raw{Header: schema.Header{RecvNs: recvNs, Channel: channel, InstID: instID,
		Ts: recvNs / int64(time.Millisecond)}, Endpoint: cn.endpoint, Frame: unsafe.String(unsafe.SliceData(frame), len(frame))}
	c.cfg.Emit(&cn.raw)
	cn.raw.Frame = ""
}

// count sees each decoded event of the frame being handled, before the pipeline routes it.
func (cn *conn) count(ev schema.Event) {
	cc := cn.cur
	cc.events.Inc()
	cc.statsEv.Add(1)
	h := ev.Hdr()
	if h.Ts > 0 {
		metricLag.Observe(float64(h.RecvNs-h.Ts*int64(time.Millisecond)) / 1e9)
	}
}

func (c *Client) logOnce(key, msg string, args ...any) {
	if _, seen := c.logged.LoadOrStore(key, struct{}{}); !seen {
		c.log.Warn(msg, args...)
	}
}

func (c *Client) exchangeError(label string, oe *OKXError) {
	c.exchErrors.add(oe.Code, 1)
	metricExchangeErrors.WithLabelValues(oe.Code).Inc()
	c.logOnce("exchange:"+label+":"+oe.Code, "okx error; further errors with this code on this connection are counted, not logged",
		"conn", label, "code", oe.Code, "msg", oe.Msg, "connId", oe.ConnID)
}
