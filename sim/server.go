// Package sim is a fake OKX v5 exchange (WebSocket public/business/private endpoints and a few REST calls)
// that speaks the real protocol, for tests, demos and benchmarks.
package sim

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Config configures a Server. The zero value serves two synthetic instruments (BTC-USDT, ETH-USDT and their
// SWAP twins) at 10 frames/s per channel per instrument.
type Config struct {
	Instruments   int     // N synthetic bases: BTC-USDT, ETH-USDT, SOL-USDT, ... (SPOT) plus BASE-USDT-SWAP twins; default 2
	Rate          float64 // data frames per second per channel per instrument (default 10)
	Seed          int64
	Capture       string  // path of a capture file (OKX.ws.1.0 format): serve its frames instead of synthetic data
	CaptureSpeed  float64 // capture timing: 0 = as fast as possible after subscribe, 1 = real time, 10 = 10x faster
	APIKey        string  // credentials the private endpoint accepts (login HMAC verified)
	APISecret     string
	Passphrase    string
	Checksum      bool // books: real CRC32 checksums (pre-2026 behaviour) instead of 0 (today's OKX)
	BookDepth     int  // levels per side in books snapshots (default 400)
	Faults        Faults
	EmbedSendTime bool // trades carry their send time (Unix ns, set as the frame is written) as tradeId, for latency benchmarks
	// ListEvery, when set, lists a new base (SPOT + SWAP, beyond Instruments) every D and delists it (state
	// expired) one period later, announcing both on the instruments channel (listing.go).
	ListEvery time.Duration
	Logger    *slog.Logger
}

// Faults configures injected failures. Zero values mean "off" (or the documented default).
type Faults struct {
	DropEvery      time.Duration // close every connection's socket abruptly every D
	NoticeEvery    time.Duration // send a 64008 notice every D, then close that connection NoticeGrace later
	NoticeGrace    time.Duration // default 2s (real OKX: 60s)
	IgnorePing     bool          // stop answering text ping (and control pings)
	MalformedEvery int           // every Nth data frame of a connection is replaced by a malformed frame
	UnknownEvery   int           // every Nth data frame of a connection is preceded by a push of an unknown channel
	SlowRead       time.Duration // sleep this long before reading each client frame

	// Book faults, per incremental book stream (books, books-l2-tbt, books50-l2-tbt) and counted in the
	// stream's updates since the server started (a resubscribe does not restart the count); see Stats.Faults:
	BookGapEvery         int // the update is lost (the next one's prevSeqId skips a seqId)
	BookDupEvery         int // the update is sent twice
	BookResetEvery       int // sequence reset: seqId < prevSeqId (valid, as after maintenance)
	BookBadChecksumEvery int // the update carries a wrong non-zero checksum
	BookCrossedEvery     int // the update makes the book crossed (best bid above best ask) until the next one

	BadValueEvery int // every Nth one-item data frame of a connection carries a bad value ("Inf", "NaN", "0x1p3", no ts; counted as fault bad_value, its item not counted)
	BombEvery     int // every Nth data frame of a connection is preceded by a BombBytes push (permessage-deflate is then offered: a deflate bomb)
	BombBytes     int // size of that push before compression (default 64 MiB)

	IdleClose      time.Duration // close 4004 "No data received in 30s." after this long without outbound frames (default 30s)
	MaxConnPerSec  int           // reject handshakes (HTTP 429) beyond N new connections/s per IP (0 = 3, -1 = unlimited)
	MaxSubsPerHour int           // 60014 beyond N subscribe+unsubscribe+login requests per hour per connection (0 = 480, -1 = unlimited)
}

// Server is a running (or ready to run) simulator. All methods are safe for concurrent use.
type Server struct {
	cfg     Config
	log     *slog.Logger
	insts   []*instrument
	byID    map[string]*instrument
	stats   *statsCounter
	capture *captureIndex // nil in synthetic mode
	uid     string

	mu    sync.Mutex
	conns map[*conn]struct{}

	feedMu sync.Mutex
	feeds  map[string]*feed
	feedN  uint64 // feeds started so far (their phase)
	priv   *privHub

	rateMu    sync.Mutex
	connTimes map[string][]time.Time

	bombOnce sync.Once
	bombData *websocket.PreparedMessage

	rngMu sync.Mutex
	rng   *rand.Rand

	closed    chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup
	httpSrv   *http.Server
	upgrader  websocket.Upgrader
}

// New validates cfg, applies defaults and builds the instrument universe (or loads the capture file).
// Fault timers (DropEvery, NoticeEvery) run from New until Close.
func New(cfg Config) (*Server, error) {
	if cfg.Instruments <= 0 {
		cfg.Instruments = 2
	}
	if cfg.Rate <= 0 {
		cfg.Rate = 10
	}
	if cfg.BookDepth <= 0 {
		cfg.BookDepth = 400
	}
	if cfg.CaptureSpeed < 0 {
		return nil, errors.New("sim: CaptureSpeed must be >= 0")
	}
	f := &cfg.Faults
	if f.NoticeGrace <= 0 {
		f.NoticeGrace = 2 * time.Second
	}
	if f.BombBytes <= 0 {
		f.BombBytes = 64 << 20
	}
	if f.IdleClose <= 0 {
		f.IdleClose = 30 * time.Second
	}
	if f.MaxConnPerSec == 0 {
		f.MaxConnPerSec = 3
	}
	if f.MaxSubsPerHour == 0 {
		f.MaxSubsPerHour = 480
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, log: cfg.Logger, byID: map[string]*instrument{}, stats: newStatsCounter(),
		conns: map[*conn]struct{}{}, feeds: map[string]*feed{}, connTimes: map[string][]time.Time{},
		rng: rand.New(rand.NewPCG(uint64(cfg.Seed), 0x6f6b78)), closed: make(chan struct{})}
	s.uid = fmt.Sprintf("%d", 600000000000000+s.rng.Int64N(99999999999999))
	s.upgrader = websocket.Upgrader{ReadBufferSize: 4096, WriteBufferSize: 16384,
		CheckOrigin: func(*http.Request) bool { return true }, EnableCompression: f.BombEvery > 0}
	if cfg.Capture != "" {
		fh, err := os.Open(cfg.Capture)
		if err != nil {
			return nil, fmt.Errorf("sim: open capture: %w", err)
		}
		frames, err := ReadCapture(fh)
		fh.Close()
		if err != nil {
			return nil, fmt.Errorf("sim: read capture %s: %w", cfg.Capture, err)
		}
		s.capture = newCaptureIndex(frames)
		for i, id := range s.capture.instIDs {
			s.insts = append(s.insts, instrumentFromID(id, i))
		}
	} else {
		n := cfg.Instruments
		if cfg.ListEvery > 0 {
			n += listReserve
		}
		s.insts = buildUniverse(n)
	}
	for i, in := range s.insts {
		in.mkt = newMarket(in, cfg.Seed, i, cfg.BookDepth)
		s.byID[in.ID] = in
	}
	if cfg.ListEvery > 0 && s.capture == nil {
		reserve := splitReserve(s.insts, cfg.Instruments)
		s.wg.Add(1)
		go s.listingLoop(reserve)
	}
	s.priv = newPrivHub(s)
	s.startFaultTimers()
	return s, nil
}

func (s *Server) startFaultTimers() {
	every := func(d time.Duration, fn func()) {
		if d <= 0 {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			t := time.NewTicker(d)
			defer t.Stop()
			for {
				select {
				case <-s.closed:
					return
				case <-t.C:
					fn()
				}
			}
		}()
	}
	every(s.cfg.Faults.DropEvery, s.DropConnections)
	every(s.cfg.Faults.NoticeEvery, s.SendNotice)
}

// Handler serves /ws/v5/public, /ws/v5/business, /ws/v5/private, GET /api/v5/public/instruments,
// GET /api/v5/market/books and GET /stats. Query strings are ignored on the WebSocket paths.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/ws/v5/public", func(w http.ResponseWriter, r *http.Request) { s.serveWS(w, r, pathPublic) })
	mux.HandleFunc("/ws/v5/business", func(w http.ResponseWriter, r *http.Request) { s.serveWS(w, r, pathBusiness) })
	mux.HandleFunc("/ws/v5/private", func(w http.ResponseWriter, r *http.Request) { s.serveWS(w, r, pathPrivate) })
	mux.HandleFunc("GET /api/v5/public/instruments", s.restInstruments)
	mux.HandleFunc("GET /api/v5/market/books", s.restBooks)
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(s.Stats())
	})
	return mux
}

// Start listens on addr (e.g. "127.0.0.1:0") and serves Handler in the background until Close. It returns
// the bound address ("127.0.0.1:PORT").
func (s *Server) Start(addr string) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("sim: listen: %w", err)
	}
	s.mu.Lock()
	if s.httpSrv != nil {
		s.mu.Unlock()
		ln.Close()
		return "", errors.New("sim: already started")
	}
	s.httpSrv = &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	srv := s.httpSrv
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("okxsim: serve", "err", err)
		}
	}()
	s.log.Info("okxsim: listening", "addr", ln.Addr().String())
	return ln.Addr().String(), nil
}

// Close stops the listener, every connection, feed and fault timer, and waits for their goroutines.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		close(s.closed)
		srv := s.httpSrv
		s.mu.Unlock()
		if srv != nil {
			_ = srv.Close()
		}
		s.DropConnections()
		s.wg.Wait()
	})
	return nil
}

// Stats returns a copy of the counters.
func (s *Server) Stats() Stats {
	st := s.stats.snapshot()
	st.Subscribed = s.subscribedStreams()
	return st
}

// DropConnections abruptly closes every client socket (no close frame).
func (s *Server) DropConnections() {
	for _, c := range s.connList() {
		c.kill()
	}
}

// SendNotice sends {"event":"notice","code":"64008",...} on every open connection and closes each of them
// abruptly NoticeGrace later.
func (s *Server) SendNotice() {
	for _, c := range s.connList() {
		c.sendControl(c.event("notice", "", "64008",
			"The connection will soon be closed for a service upgrade. Please reconnect.", nil))
		c := c
		time.AfterFunc(s.cfg.Faults.NoticeGrace, c.kill)
	}
}

// Connections returns the number of currently open client connections.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

func (s *Server) connList() []*conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		out = append(out, c)
	}
	return out
}

func (s *Server) newConnID() string {
	s.rngMu.Lock()
	defer s.rngMu.Unlock()
	return fmt.Sprintf("%08x", s.rng.Uint32())
}

// allowConn applies the per-IP new-connection rate limit.
func (s *Server) allowConn(r *http.Request) bool {
	limit := s.cfg.Faults.MaxConnPerSec
	if limit < 0 {
		return true
	}
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		ip = r.RemoteAddr
	}
	now := time.Now()
	s.rateMu.Lock()
	defer s.rateMu.Unlock()
	ts := s.connTimes[ip]
	for len(ts) > 0 && now.Sub(ts[0]) >= time.Second {
		ts = ts[1:]
	}
	if len(ts) >= limit {
		s.connTimes[ip] = ts
		return false
	}
	s.connTimes[ip] = append(ts, now)
	return true
}

func (s *Server) serveWS(w http.ResponseWriter, r *http.Request, p pathKind) {
	select {
	case <-s.closed:
		http.Error(w, "server closed", http.StatusServiceUnavailable)
		return
	default:
	}
	if !websocket.IsWebSocketUpgrade(r) {
		http.Error(w, "websocket upgrade required", http.StatusBadRequest)
		return
	}
	if !s.allowConn(r) {
		s.log.Warn("okxsim: connection rate limit", "remote", r.RemoteAddr)
		http.Error(w, `{"msg":"Too Many Requests","code":"50011"}`, http.StatusTooManyRequests)
		return
	}
	ws, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		s.log.Warn("okxsim: upgrade", "err", err)
		return
	}
	c := newConn(s, ws, p)
	s.mu.Lock()
	select {
	case <-s.closed:
		s.mu.Unlock()
		ws.Close()
		return
	default:
	}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	s.stats.conn()
	s.log.Debug("okxsim: connected", "connId", c.id, "path", r.URL.Path, "remote", r.RemoteAddr)
	defer s.wg.Done()
	c.run()
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.log.Debug("okxsim: disconnected", "connId", c.id)
}

// bomb returns the BombEvery push, built once; gorilla compresses a prepared message once per setting.
func (s *Server) bomb() *websocket.PreparedMessage {
	s.bombOnce.Do(func() {
		s.bombData, _ = websocket.NewPreparedMessage(websocket.TextMessage, bombFrame(s.cfg.Faults.BombBytes))
	})
	return s.bombData
}
