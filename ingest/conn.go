package ingest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
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
	dec     *decode.Decoder
	env     decode.Envelope
	raw     schema.Raw
	cur     *chanCounters
	chans   map[string]*chanCounters // by wire channel, registry channels only
	other   *chanCounters            // every channel the registry does not know
	onEvent func(schema.Event)

	idh     idHasher // exchange identities of events (handover.go)
	lastMu  sync.Mutex
	lastIDs map[streamKey]uint64 // latest identity per value-channel stream, seeds a handover window
}

type argState uint8

const (
	argPending argState = iota + 1
	argAcked
	argFailed
)

type request struct {
	keys    []string
	errored bool
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
	now := time.Now().UnixNano()
	cn := &conn{
		c: c, s: s, label: s.label, endpoint: s.endpoint, url: s.url, ws: ws, openedNs: now,
		budget: newRequestBudget(480, time.Hour),
		done:   make(chan struct{}), closing: make(chan struct{}), notice: make(chan struct{}, 1),
		requests: map[string]*request{}, state: map[string]argState{}, unsubs: map[string]int{},
		dec: decode.NewDecoder(), chans: map[string]*chanCounters{}, lastIDs: map[streamKey]uint64{},
	}
	cn.onEvent = cn.event
	cn.lastRecv.Store(now)
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
	env := &cn.env
	if err := cn.dec.Envelope(frame, env); err != nil {
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
	if _, err := cn.dec.Push(env, frame, recvNs, cn.onEvent); err != nil {
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

// event receives each decoded event of the frame being handled.
func (cn *conn) event(ev schema.Event) {
	cc := cn.cur
	cc.events.Inc()
	cc.statsEv.Add(1)
	h := ev.Hdr()
	if h.Ts > 0 {
		metricLag.Observe(float64(h.RecvNs-h.Ts*int64(time.Millisecond)) / 1e9)
	}
	if b, ok := ev.(*schema.Book); ok {
		cn.s.books.Apply(b, cn.dec.BookRaw())
		return
	}
	if !cn.admit(ev) {
		return
	}
	cn.c.cfg.Emit(ev)
}

func (cn *conn) handleEvent(env *decode.Envelope, recvNs int64) {
	c := cn.c
	if env.ConnID != "" && cn.connIDString() != env.ConnID {
		id := env.ConnID
		cn.connID.Store(&id)
	}
	hdr := schema.Header{RecvNs: recvNs, Ts: recvNs / int64(time.Millisecond)}
	switch env.Event {
	case "subscribe":
		cn.mu.Lock()
		cn.state[argKey(env.Arg)] = argAcked
		cn.pruneRequest(env.ID)
		cn.mu.Unlock()
		hdr.Channel, hdr.InstID = env.Arg.Channel, env.Arg.InstID
		c.cfg.Emit(&schema.Subscribed{Header: hdr, Conn: cn.label, InstType: env.Arg.InstType})
	case "unsubscribe":
		k := argKey(env.Arg)
		cn.mu.Lock()
		asked := cn.unsubs[k] > 0
		if asked {
			cn.unsubs[k]--
		}
		cn.mu.Unlock()
		if !asked {
			c.log.Warn("okx unsubscribed a channel on its own", "conn", cn.label, "arg", argString(env.Arg))
		}
	case "login":
		cn.mu.Lock()
		ch := cn.loginCh
		cn.loginCh = nil
		cn.mu.Unlock()
		if ch == nil {
			return
		}
		if env.Code == "" || env.Code == "0" {
			ch <- nil
		} else {
			ch <- loginFailure(cn.endpoint, &OKXError{Code: env.Code, Msg: c.scrub.scrub(env.Msg), ConnID: env.ConnID})
		}
	case "error":
		oe := &OKXError{Code: env.Code, Msg: c.scrub.scrub(env.Msg), ConnID: env.ConnID}
		hdr.Channel, hdr.InstID = cn.resolveError(env.ID, oe)
		c.exchangeError(cn.label, oe)
		c.cfg.Emit(&schema.ExchangeError{Header: hdr, Conn: cn.label, Code: oe.Code, Msg: oe.Msg})
	case "notice":
		c.log.Info("okx notice", "conn", cn.label, "code", env.Code, "msg", env.Msg, "connId", env.ConnID)
		if env.Code == "64008" {
			select {
			case cn.notice <- struct{}{}:
			default:
			}
		}
	case "channel-conn-count":
		c.log.Info("okx channel connection count", "conn", cn.label, "channel", env.Arg.Channel,
			"count", env.ConnCount)
	case "channel-conn-count-error":
		c.exchErrors.add("channel-conn-count-error", 1)
		metricExchangeErrors.WithLabelValues("channel-conn-count-error").Inc()
		c.log.Warn("okx terminated a subscription: too many connections for this private channel",
			"conn", cn.label, "channel", env.Arg.Channel, "count", env.ConnCount)
	default:
		c.logOnce("event:"+env.Event, "okx sent an unknown event (logged once)", "conn", cn.label,
			"event", env.Event)
	}
}

// resolveError routes an error event: to a pending login, or to the subscribe request it answers (marking the
// arg named in its message as failed). It returns the arg's channel and instId when known.
func (cn *conn) resolveError(id string, oe *OKXError) (channel, instID string) {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	if cn.loginCh != nil && (isLoginCode(oe.Code) || id == "") {
		ch := cn.loginCh
		cn.loginCh = nil
		ch <- loginFailure(cn.endpoint, oe)
		return "", ""
	}
	cn.lastErr = time.Now()
	if cn.firstErr == nil {
		cn.firstErr = oe
	}
	req := cn.requests[id]
	var keys []string
	if req != nil {
		req.errored = true
		keys = req.keys
	} else {
		for k, st := range cn.state {
			if st == argPending {
				keys = append(keys, k)
			}
		}
	}
	for _, k := range keys {
		parts := strings.SplitN(k, "|", 3)
		if len(parts) < 2 || cn.state[k] != argPending {
			continue
		}
		if strings.Contains(oe.Msg, "channel:"+parts[0]) &&
			(parts[1] == "" || strings.Contains(oe.Msg, "instId:"+parts[1])) {
			cn.state[k] = argFailed
			cn.pruneRequest(id)
			return parts[0], parts[1]
		}
	}
	return "", ""
}

// send sends a subscribe or unsubscribe request for args, split to respect OKX's 64 KB request limit, each
// counted against the connection's hourly budget. Subscribed args are tracked until acked.
func (cn *conn) send(op string, args []decode.Arg) error {
	for _, batch := range splitRequests(args, maxRequestBytes) {
		if err := cn.budget.take(time.Now()); err != nil {
			return fmt.Errorf("%s %s: %w", cn.label, op, err)
		}
		id := cn.c.nextID()
		keys := make([]string, len(batch))
		cn.mu.Lock()
		for i, a := range batch {
			keys[i] = argKey(a)
			if op == "subscribe" {
				cn.state[keys[i]] = argPending
			} else {
				cn.unsubs[keys[i]]++
			}
		}
		if op == "subscribe" {
			cn.requests[id] = &request{keys: keys}
		}
		cn.mu.Unlock()
		if err := cn.write(encodeRequest(id, op, batch)); err != nil {
			return fmt.Errorf("%s %s: %w", cn.label, op, err)
		}
	}
	return nil
}

// waitAcks waits until every arg of args is acked or failed, or every still-pending arg belongs to a request
// that got an error and no answer came for errorGrace, or the timeout passes (then the missing args are
// logged). It returns an error only if the connection died or ctx ended.
func (cn *conn) waitAcks(ctx context.Context, args []decode.Arg, timeout time.Duration) error {
	const errorGrace = 300 * time.Millisecond
	deadline := time.Now().Add(timeout)
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		var missing []string
		allErrored := true
		cn.mu.Lock()
		for _, a := range args {
			k := argKey(a)
			if cn.state[k] == argPending {
				missing = append(missing, argString(a))
				if !cn.pendingInErroredRequest(k) {
					allErrored = false
				}
			}
		}
		lastErr := cn.lastErr
		cn.mu.Unlock()
		now := time.Now()
		if len(missing) == 0 || (allErrored && now.Sub(lastErr) >= errorGrace) {
			return nil
		}
		if now.After(deadline) {
			cn.c.log.Warn("subscriptions not acknowledged in time; continuing", "conn", cn.label,
				"missing", len(missing), "first", missing[0])
			return nil
		}
		select {
		case <-t.C:
		case <-cn.done:
			return fmt.Errorf("%s: connection lost while subscribing: %s", cn.label, cn.Reason())
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// pruneRequest forgets request id once none of its args is pending. Called with mu held.
func (cn *conn) pruneRequest(id string) {
	r := cn.requests[id]
	if r == nil {
		return
	}
	for _, k := range r.keys {
		if cn.state[k] == argPending {
			return
		}
	}
	delete(cn.requests, id)
}

func (cn *conn) pendingInErroredRequest(k string) bool {
	for _, r := range cn.requests {
		if !r.errored {
			continue
		}
		for _, rk := range r.keys {
			if rk == k {
				return true
			}
		}
	}
	return false
}

// login sends the login request and waits for its answer. The request is written to the socket only.
func (cn *conn) login(ctx context.Context, timeout time.Duration) error {
	if err := cn.budget.take(time.Now()); err != nil {
		return fmt.Errorf("%s login: %w", cn.label, err)
	}
	ch := make(chan error, 1)
	cn.mu.Lock()
	cn.loginCh = ch
	cn.mu.Unlock()
	if err := cn.write(loginRequest(cn.c.cfg.Credentials, time.Now())); err != nil {
		return fmt.Errorf("%s login: write: %w", cn.label, err) // the error names no secret
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case err := <-ch:
		return err
	case <-t.C:
		return &LoginError{Endpoint: cn.endpoint, Code: "timeout",
			text: "OKX did not answer the login within " + timeout.String() + "; retrying [" + cn.endpoint + "]"}
	case <-cn.done:
		return fmt.Errorf("%s: connection lost during login: %s", cn.label, cn.Reason())
	case <-ctx.Done():
		return ctx.Err()
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
