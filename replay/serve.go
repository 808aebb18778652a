package replay

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/schema/channels"
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
}

// Server is an OKX v5 WebSocket server over stored data: ws://HOST/ws/v5/public and /ws/v5/business speak
// OKX's subscribe/unsubscribe protocol (acks per arg with the request id and an 8-hex connId, OKX error
// shapes, text ping → pong) and push recorded data in OKX's shape.
//
// Data: when the raw-frame dataset has frames in the selection (and Render is off) the server sends the
// frames exactly as OKX sent them, ordered by receive time; otherwise it re-renders pushes from the normalised
// rows (AppendPush). Playback: each connection has its own subscriptions and its own playback of the whole
// selected range, from its start, begun by the connection's first successful subscribe request (every arg of
// that request applies from the first frame) and paced by Speed; later subscriptions apply from the current
// position. An incremental book subscription is sent nothing until a snapshot, as OKX starts with one.
// When the range is exhausted the connection stays open (pings are still answered) with nothing more to send.
type Server struct {
	o        ServeOptions
	log      *slog.Logger
	raw      bool
	tables   []*schema.Table
	channels map[string]bool // recorded channels (from the session ledger); nil: unknown, accept all
	insts    map[string]bool
	up       websocket.Upgrader

	mu    sync.Mutex
	conns map[*wsConn]struct{}
	wg    sync.WaitGroup
}

// NewServer inspects the source (raw frames present? which channels and instruments were recorded?) and
// returns a server.
func NewServer(ctx context.Context, o ServeOptions) (*Server, error) {
	s := &Server{o: o, log: o.Logger, conns: map[*wsConn]struct{}{}}
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

// Handler returns the HTTP handler serving /ws/v5/public and /ws/v5/business.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/ws/v5/public", func(w http.ResponseWriter, r *http.Request) { s.handle(w, r, schema.EndpointPublic) })
	mux.HandleFunc("/ws/v5/business", func(w http.ResponseWriter, r *http.Request) { s.handle(w, r, schema.EndpointBusiness) })
	return mux
}

// Serve accepts connections on ln until ctx is done, then closes every connection and returns.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
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
		c.ws.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// wsConn is one client connection: its subscriptions and its playback.
type wsConn struct {
	s        *Server
	ws       *websocket.Conn
	id       string
	endpoint string
	wmu      sync.Mutex
	mu       sync.Mutex
	subs     map[streamID]*sub
	playing  bool
	ctx      context.Context
}

type sub struct{ synced bool }

func (s *Server) handle(w http.ResponseWriter, r *http.Request, endpoint string) {
	ws, err := s.up.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered
	}
	var id [4]byte
	_, _ = rand.Read(id[:])
	ctx, cancel := context.WithCancel(r.Context())
	c := &wsConn{s: s, ws: ws, id: hex.EncodeToString(id[:]), endpoint: endpoint, subs: map[streamID]*sub{}, ctx: ctx}
	s.mu.Lock()
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	defer func() {
		cancel()
		ws.Close()
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		s.wg.Done()
	}()
	ws.SetReadLimit(64 << 10)
	for {
		_, msg, err := ws.ReadMessage()
		if err != nil {
			return
		}
		if string(bytes.TrimSpace(msg)) == "ping" {
			if c.write([]byte("pong")) != nil {
				return
			}
			continue
		}
		if c.request(msg) != nil {
			return
		}
	}
}

func (c *wsConn) write(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return c.ws.WriteMessage(websocket.TextMessage, b)
}

// wireArg is a subscription argument; the ack echoes the arg exactly as sent.
type wireArg struct {
	Channel  string `json:"channel"`
	InstID   string `json:"instId"`
	InstType string `json:"instType"`
}

type event struct {
	ID     string          `json:"id,omitempty"`
	Event  string          `json:"event"`
	Arg    json.RawMessage `json:"arg,omitempty"`
	Code   string          `json:"code,omitempty"`
	Msg    string          `json:"msg,omitempty"`
	ConnID string          `json:"connId"`
}

func (c *wsConn) send(e event) error {
	e.ConnID = c.id
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	return c.write(b)
}

func (c *wsConn) fail(id, code, msg string) error {
	return c.send(event{ID: id, Event: "error", Code: code, Msg: msg})
}

// request handles one JSON request: subscribe or unsubscribe, one ack or error per arg, in order.
func (c *wsConn) request(msg []byte) error {
	var req struct {
		ID   string             `json:"id"`
		Op   string             `json:"op"`
		Args *[]json.RawMessage `json:"args"`
	}
	if err := json.Unmarshal(msg, &req); err != nil || req.Op == "" || req.Args == nil {
		return c.fail(req.ID, "60012", "Invalid request: "+string(msg))
	}
	if req.Op != "subscribe" && req.Op != "unsubscribe" {
		return c.fail(req.ID, "60019", "Invalid op: "+req.Op)
	}
	start := false
	for _, raw := range *req.Args {
		var a wireArg
		var echo bytes.Buffer
		if json.Unmarshal(raw, &a) != nil || json.Compact(&echo, raw) != nil || a.Channel == "" {
			if err := c.fail(req.ID, "60012", "Invalid request: "+string(msg)); err != nil {
				return err
			}
			continue
		}
		if code, text := c.s.check(c.endpoint, a); code != "" {
			if err := c.fail(req.ID, code, text); err != nil {
				return err
			}
			continue
		}
		id := streamID{a.Channel, a.InstID}
		c.mu.Lock()
		if req.Op == "subscribe" {
			if c.subs[id] == nil {
				c.subs[id] = &sub{synced: !IncrementalBook(a.Channel)}
			}
			if !c.playing {
				c.playing, start = true, true
			}
		} else {
			delete(c.subs, id)
		}
		c.mu.Unlock()
		if err := c.send(event{ID: req.ID, Event: req.Op, Arg: echo.Bytes()}); err != nil {
			return err
		}
	}
	if start {
		c.s.wg.Add(1)
		go c.play()
	}
	return nil
}

// check validates an arg against the endpoint and the recorded channels and instruments: an OKX error code
// and message, or "".
func (s *Server) check(endpoint string, a wireArg) (code, msg string) {
	notFound := fmt.Sprintf("Wrong URL or channel:%s, instId:%s doesn't exist. Please use the correct URL, channel and parameters referring to API document.", a.Channel, a.InstID)
	ep, known := channelEndpoint(a.Channel)
	switch {
	case !known || ep == schema.EndpointPrivate:
		return "60018", notFound
	case ep == schema.EndpointBusiness && endpoint == schema.EndpointPublic:
		return "64001", fmt.Sprintf("channel:%s, instId:%s This channel has been migrated to the '/business' URL. Please subscribe using the new URL. More details can refer to: https://www.okx.com/help-center/changes-to-v5-api-websocket-subscription-parameter-and-url", a.Channel, a.InstID)
	case ep == schema.EndpointPublic && endpoint == schema.EndpointBusiness:
		return "64002", fmt.Sprintf("channel:%s, instId:%s This channel is not supported by \"business\" URL. Please use \"public\" URL.", a.Channel, a.InstID)
	case s.channels != nil && !s.channels[a.Channel]:
		return "60018", notFound
	case s.insts != nil && a.InstID != "" && !s.insts[a.InstID]:
		return "60018", notFound
	case len(s.o.Query.Channels) > 0 && !containsStr(s.o.Query.Channels, a.Channel),
		len(s.o.Query.Insts) > 0 && a.InstID != "" && !containsStr(s.o.Query.Insts, a.InstID):
		return "60018", notFound
	}
	return "", ""
}

func containsStr(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// channelEndpoint returns the endpoint that serves an OKX channel, and whether the channel is known (the
// channel registry).
func channelEndpoint(ch string) (string, bool) {
	if e := channels.Lookup(ch); e != nil {
		return e.Endpoint, true
	}
	return "", false
}

// play replays the selected range to the connection, sending what it is subscribed to.
func (c *wsConn) play() {
	defer c.s.wg.Done()
	st, err := Open(c.ctx, c.s.o.Source, c.s.o.Query, c.s.tables)
	if err != nil {
		c.s.log.Error("replay serve: opening the stream", "conn", c.id, "err", err)
		return
	}
	defer st.Close()
	pacer := NewPacer(c.s.o.Speed)
	var buf []byte
	var sent uint64
	for ev := st.Next(); ev != nil; ev = st.Next() {
		h := ev.Hdr()
		c.mu.Lock()
		sb := c.subs[streamID{h.Channel, h.InstID}]
		var frame []byte
		if sb != nil {
			if r, ok := ev.(*schema.Raw); ok {
				if r.Endpoint == c.endpoint {
					buf = append(buf[:0], r.Frame...)
					frame = buf
				}
			} else if buf, ok = AppendPush(buf[:0], ev); ok {
				frame = buf
			}
			if frame != nil && !sb.synced {
				if !bytes.Contains(frame, []byte(`"action":"snapshot"`)) {
					frame = nil
				} else {
					sb.synced = true
				}
			}
		}
		c.mu.Unlock()
		if frame == nil {
			continue
		}
		if pacer.Wait(c.ctx, h.Ts) != nil {
			return
		}
		if err := c.write(frame); err != nil {
			return
		}
		sent++
	}
	if err := st.Err(); err != nil && c.ctx.Err() == nil {
		c.s.log.Error("replay serve: reading", "conn", c.id, "err", err)
	}
	c.s.log.Debug("replay serve: playback finished", "conn", c.id, "frames", sent)
}
