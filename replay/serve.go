package replay

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/okxtape/okxtape/internal/okxproto"

	"github.com/gorilla/websocket"

	"github.com/okxtape/okxtape/internal/wslimit"
	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/store"
)

// ServeOptions configure a Server.
type ServeOptions struct {
	Source Source
	Query  store.Query // what the server offers
	// Speed paces each connection's playback (0: as fast as the client reads).
	Speed float64
	// Render re-renders pushes from the normalised datasets even when raw frames are stored.
	Render bool
	Logger *slog.Logger
	// MaxConns caps concurrent connections; more are refused with HTTP 503 (0: 1000).
	MaxConns int
	// IdleTimeout closes a connection with 4004 "No data received in 30s." when no frame has passed in
	// either direction for this long (0: 30 s, OKX's rule).
	IdleTimeout time.Duration
	// SendQueue bounds each connection's queued outgoing bytes (0: 8 MiB). A paced connection whose queue
	// fills is cut as a slow consumer; an unpaced one (Speed 0) is simply played at the client's pace.
	SendQueue int64
}

// maxRequest is OKX's limit on one request (uncompressed): larger ones are closed with 1009.
const maxRequest = 64 << 10

// Server is an OKX v5 WebSocket server over stored data: ws://HOST/ws/v5/public, /ws/v5/business and
// /ws/v5/private speak OKX's subscribe/unsubscribe/login protocol (acks per arg with the request id and an
// 8-hex connId, OKX's error codes and texts, text ping → pong, 4004 on idle) and push recorded data in OKX's
// shape.
//
// Data: when the raw-frame dataset has frames in the selection (and Render is off) the server sends the
// frames exactly as OKX sent them, ordered by receive time; otherwise it re-renders pushes from the
// normalised rows (AppendPush), with consistent seqId chains and recomputed checksums for incremental books.
//
// Playback: each connection has one playback clock, started by its first successful subscribe at the start
// of the range and paced by Speed; every subscription, first or later, joins at the current playback time.
// A depth subscription made after playback started (or repeated) gets a snapshot of the book as it stands
// at that time, rebuilt with ingest's book code, then the stored updates chained to it. Connections share
// the reading and preparation of the range (see the tape in serve_tape.go). When the range is exhausted the
// connection stays open (pings are still answered) with nothing more to send.
type Server struct {
	o        ServeOptions
	log      *slog.Logger
	raw      bool
	tables   []*schema.Table
	channels map[string]bool // recorded channels (from the session ledger); nil: unknown, accept all
	insts    map[string]bool
	up       websocket.Upgrader

	mu      sync.Mutex
	conns   map[*wsConn]struct{}
	wg      sync.WaitGroup
	refused atomic.Int64 // connections refused by MaxConns
	lastRef atomic.Int64 // unix ns of the last refusal logged

	ctx  context.Context // the chains' reads live as long as this (Serve's context)
	tmu  sync.Mutex      // guards open and the chains' refs
	open *chain          // the chain new connections join while it is young; nil: start a new one
	head *chunk          // open's first chunk (held only while open is joinable)

	stats  ServeStats
	maxLag int64 // chunks a connection may lag its shared chain (defaultMaxLag; tests lower it)
}

// ServeStats are the server's counters.
type ServeStats struct {
	Conns      atomic.Int64 // connections accepted
	Refused    atomic.Int64 // refused by MaxConns
	SlowCut    atomic.Int64 // cut as slow consumers
	IdleClosed atomic.Int64 // closed with 4004
	Oversized  atomic.Int64 // requests over 64 KiB (closed with 1009)
	Chains     atomic.Int64 // merged reads opened (shared by the connections that start together)
	Detached   atomic.Int64 // connections that fell too far behind their shared read and read on their own
	// UndecodedDepth counts stored depth frames the decoder refused (sent as stored, left out of rebuilt books).
	UndecodedDepth atomic.Int64
}

// NewServer inspects the source (raw frames present? which channels and instruments were recorded?) and
// returns a server.
func NewServer(ctx context.Context, o ServeOptions) (*Server, error) {
	if o.MaxConns <= 0 {
		o.MaxConns = 1000
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 30 * time.Second
	}
	if o.SendQueue <= 0 {
		o.SendQueue = 8 << 20
	}
	s := &Server{o: o, log: o.Logger, conns: map[*wsConn]struct{}{}, ctx: context.Background(), maxLag: defaultMaxLag}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.up = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }, EnableCompression: true}
	if !o.Render {
		parts, err := o.Source.Parts(ctx, schema.RawTable, o.Query)
		if err != nil {
			return nil, fmt.Errorf("replay serve: listing raw frames: %w", err)
		}
		s.raw = len(parts) > 0
	}
	s.tables = RenderTables()
	if s.raw {
		s.tables = []*schema.Table{schema.RawTable}
	}
	if err := s.loadSessions(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// RawMode reports whether the server sends stored raw frames (true) or re-rendered pushes (false).
func (s *Server) RawMode() bool { return s.raw }

// Stats returns the server's counters.
func (s *Server) Stats() *ServeStats { return &s.stats }

// loadSessions collects the channels and instruments of the recording sessions in the selection; they decide
// which subscriptions get 60018. Without session rows every known channel and instrument is accepted.
func (s *Server) loadSessions(ctx context.Context) error {
	q := store.Query{From: s.o.Query.From, To: s.o.Query.To}
	if !q.From.IsZero() {
		q.From = q.From.Add(-7 * 24 * time.Hour) // a session started before the range may cover it
	}
	st, err := Open(ctx, s.o.Source, q, []*schema.Table{schema.SessionTable})
	if err != nil {
		return fmt.Errorf("replay serve: reading sessions: %w", err)
	}
	defer st.Close()
	for ev := st.Next(); ev != nil; ev = st.Next() {
		ss := ev.(*schema.Session)
		if s.channels == nil {
			s.channels, s.insts = map[string]bool{}, map[string]bool{}
		}
		for _, c := range strings.Split(ss.Channels, ",") {
			s.channels[strings.TrimSpace(c)] = true
		}
		for _, i := range strings.Split(ss.Instruments, ",") {
			s.insts[strings.TrimSpace(i)] = true
		}
	}
	return st.Err()
}

// Handler returns the HTTP handler serving /ws/v5/public, /ws/v5/business and /ws/v5/private.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, ep := range []string{schema.EndpointPublic, schema.EndpointBusiness, schema.EndpointPrivate} {
		mux.HandleFunc("/ws/v5/"+ep, func(w http.ResponseWriter, r *http.Request) { s.handle(w, r, ep) })
	}
	return mux
}

// Serve accepts connections on ln until ctx is done, then closes every connection and returns.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	s.ctx = ctx
	hs := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second,
		BaseContext: func(net.Listener) context.Context { return ctx }}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = hs.Shutdown(sctx)
	s.mu.Lock()
	for c := range s.conns {
		if c.ws != nil {
			c.ws.Close()
		}
	}
	s.mu.Unlock()
	s.wg.Wait()
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// frameSender queues text frames for one client (wslimit.Sender). Send copies b; it fails with
// wslimit.ErrSlowConsumer when the client was cut for not keeping up, with another error when the connection
// is gone. CloseWith flushes what is queued, sends a close frame and closes the connection.
type frameSender interface {
	Send(ctx context.Context, b []byte) error
	Close() error
	CloseWith(code int, reason string)
}

// wsConn is one client connection: its subscriptions and its playback.
type wsConn struct {
	s        *Server
	ws       *websocket.Conn
	out      frameSender
	id       string
	endpoint string
	ctx      context.Context
	cancel   context.CancelFunc
	last     atomic.Int64 // unix ns of the last frame in either direction
	wake     chan struct{}
	joins    atomic.Bool // a depth subscription waits for its snapshot

	mu       sync.Mutex // guards everything below
	subs     map[string]*sub
	byStream map[streamID]*sub // subscriptions by (channel, instId)
	wide     []*sub            // instType/instFamily/selector-less subscriptions
	playing  bool
	loggedIn bool
	reqs     okxproto.RequestWindow // subscribe/unsubscribe/login requests in the last hour
}

// admit registers a new connection unless the cap is reached.
func (s *Server) admit(c *wsConn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.conns) >= s.o.MaxConns {
		return false
	}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	return true
}

func (s *Server) handle(w http.ResponseWriter, r *http.Request, endpoint string) {
	c := &wsConn{s: s, endpoint: endpoint, subs: map[string]*sub{}, byStream: map[streamID]*sub{},
		wake: make(chan struct{}, 1)}
	if !s.admit(c) {
		s.stats.Refused.Add(1)
		if now := time.Now().UnixNano(); now-s.lastRef.Load() > int64(10*time.Second) {
			s.lastRef.Store(now)
			s.log.Warn("replay serve: connection cap reached, refusing", "max_conns", s.o.MaxConns,
				"refused_total", s.stats.Refused.Load())
		}
		http.Error(w, "too many connections", http.StatusServiceUnavailable)
		return
	}
	defer s.wg.Done()
	ws, err := s.up.Upgrade(w, r, nil)
	if err != nil {
		s.drop(c)
		return // the upgrader has answered
	}
	s.stats.Conns.Add(1)
	var id [4]byte
	_, _ = rand.Read(id[:])
	s.mu.Lock()
	c.id, c.ws = hex.EncodeToString(id[:]), ws
	s.mu.Unlock()
	c.ctx, c.cancel = context.WithCancel(r.Context())
	c.out = wslimit.NewSender(ws, c.sendOptions())
	c.touch()
	idle := time.AfterFunc(s.o.IdleTimeout, c.idleCheck)
	defer func() {
		idle.Stop()
		c.cancel()
		ws.Close() // the read side ended: the peer is gone, so nothing queued is flushed
		_ = c.out.Close()
		s.drop(c)
	}()
	c.readLoop()
}

func (s *Server) drop(c *wsConn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

func (c *wsConn) sendOptions() wslimit.SendOptions {
	o := wslimit.SendOptions{MaxMessages: 1 << 16, MaxBytes: c.s.o.SendQueue, Policy: wslimit.Block,
		SlowCode: 4005, SlowReason: "Buffer is full, cannot write data."}
	if c.s.o.Speed > 0 {
		o.Policy = wslimit.Cut
		o.SlowFrame = c.event("error", "", "4005", "Buffer is full, cannot write data.", nil)
	}
	return o
}

// readLoop reads client frames (at most 64 KiB decompressed each) until the connection ends.
func (c *wsConn) readLoop() {
	rd := wslimit.NewReader(c.ws, wslimit.ReadOptions{MaxMessage: maxRequest})
	for {
		_, msg, err := rd.Read()
		if wslimit.IsTooLarge(err) {
			c.s.stats.Oversized.Add(1)
			c.s.log.Info("replay serve: request over 64 KiB, closing with 1009", "conn", c.id)
			c.out.CloseWith(websocket.CloseMessageTooBig, "Request message exceeds the maximum frame length.")
			return
		}
		if err != nil {
			c.s.log.Debug("replay serve: connection ended", "conn", c.id, "err", err)
			return
		}
		c.touch()
		if strings.TrimSpace(string(msg)) == "ping" {
			if c.send([]byte("pong")) != nil {
				return
			}
			continue
		}
		if c.request(msg) != nil {
			return
		}
	}
}

// touch records activity for the idle rule.
func (c *wsConn) touch() { c.last.Store(time.Now().UnixNano()) }

// idleCheck closes the connection with 4004 when nothing has passed for IdleTimeout, else re-arms.
func (c *wsConn) idleCheck() {
	if c.ctx.Err() != nil {
		return
	}
	idle := c.s.o.IdleTimeout
	if since := time.Duration(time.Now().UnixNano() - c.last.Load()); since < idle {
		time.AfterFunc(idle-since, c.idleCheck)
		return
	}
	c.s.stats.IdleClosed.Add(1)
	c.s.log.Debug("replay serve: idle, closing with 4004", "conn", c.id)
	c.out.CloseWith(4004, "No data received in 30s.")
}

// send queues one frame; a slow-consumer cut is logged once.
func (c *wsConn) send(b []byte) error {
	err := c.out.Send(c.ctx, b)
	if err == nil {
		c.touch()
		return nil
	}
	if errors.Is(err, wslimit.ErrSlowConsumer) && c.ctx.Err() == nil {
		c.cancel()
		c.s.log.Warn("replay serve: slow consumer, connection cut with 4005", "conn", c.id,
			"queue_bytes", c.s.o.SendQueue)
		c.s.stats.SlowCut.Add(1) // after the log line: tests wait for the counter, then read the log
	}
	return err
}
