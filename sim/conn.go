package sim

import (
	"bytes"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/okxtape/okxtape/internal/okxproto"

	"github.com/gorilla/websocket"
)

type pathKind int

const (
	pathPublic pathKind = iota
	pathBusiness
	pathPrivate
)

func (p pathKind) String() string {
	return [...]string{"public", "business", "private"}[p]
}

const (
	maxRequest   = 64 * 1024 // OKX: total request length ≤ 64 KB, else close 1009
	outQueue     = 16384     // frames buffered per connection before it is dropped as a slow consumer (4005)
	writeTimeout = 10 * time.Second
)

// outFrame is one queued server→client frame. Data frames name their channel (for Stats and faults).
type outFrame struct {
	data      []byte
	channel   string
	items     int
	closeCode int
	closeText string
}

// conn is one client WebSocket. The handler goroutine reads (run); one writer goroutine owns all writes
// except close/control frames sent with WriteControl (which gorilla allows concurrently).
type conn struct {
	srv  *Server
	ws   *websocket.Conn
	path pathKind
	id   string
	out  chan outFrame
	done chan struct{}
	once sync.Once

	mu       sync.Mutex // guards subs, loggedIn, reqs, player
	subs     map[string]*sub
	loggedIn bool
	reqs     okxproto.RequestWindow
	player   *capturePlayer

	dataN uint64 // writer goroutine only
	stamp []byte // writer goroutine only: copy of a trades frame stamped with its send time
	slow  atomic.Bool
}

func newConn(s *Server, ws *websocket.Conn, p pathKind) *conn {
	return &conn{srv: s, ws: ws, path: p, id: s.newConnID(), out: make(chan outFrame, outQueue),
		done: make(chan struct{}), subs: map[string]*sub{}}
}

// kill closes the socket abruptly (no close frame) and stops the writer. Idempotent.
func (c *conn) kill() {
	c.once.Do(func() {
		close(c.done)
		c.ws.Close()
	})
}

// closeWith sends a close frame with code/text (from any goroutine) and then closes the socket.
func (c *conn) closeWith(code int, text string) {
	_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, text),
		time.Now().Add(time.Second))
	c.kill()
}

// send queues f. A full queue means a slow consumer: like OKX, the connection is closed with 4005.
func (c *conn) send(f outFrame) bool {
	select {
	case <-c.done:
		return false
	default:
	}
	select {
	case c.out <- f:
		return true
	case <-c.done:
		return false
	default:
		if c.slow.CompareAndSwap(false, true) {
			c.srv.log.Warn("okxsim: slow consumer, closing", "connId", c.id)
			go c.closeWith(4005, "Buffer is full, cannot write data.")
		}
		return false
	}
}

func (c *conn) sendControl(b []byte) { c.send(outFrame{data: b}) }

func (c *conn) sendData(channel string, b []byte, items int) bool {
	return c.send(outFrame{data: b, channel: channel, items: items})
}

func (c *conn) run() {
	// The writer is waited for (after cleanup): a frame it wrote is then counted in Stats before Close
	// returns, so a client never holds more than the exit line says was sent.
	wdone := make(chan struct{})
	go func() {
		defer close(wdone)
		c.writeLoop()
	}()
	defer func() { <-wdone }()
	f := &c.srv.cfg.Faults
	c.ws.SetReadLimit(1 << 20)
	if f.IgnorePing {
		c.ws.SetPingHandler(func(string) error { return nil })
	}
	defer c.cleanup()
	for {
		if f.SlowRead > 0 {
			select {
			case <-time.After(f.SlowRead):
			case <-c.done:
				return
			}
		}
		_, msg, err := c.ws.ReadMessage()
		if err != nil {
			c.kill()
			return
		}
		if len(msg) > maxRequest {
			c.send(outFrame{closeCode: websocket.CloseMessageTooBig,
				closeText: "Request message exceeds the maximum frame length."})
			continue
		}
		if string(bytes.TrimSpace(msg)) == "ping" {
			if !f.IgnorePing {
				c.sendControl([]byte("pong"))
			}
			continue
		}
		c.handle(msg)
	}
}

func (c *conn) cleanup() {
	c.mu.Lock()
	subs := c.subs
	c.subs = map[string]*sub{}
	p := c.player
	c.mu.Unlock()
	for _, sb := range subs {
		c.srv.unsubscribe(c, sb)
	}
	if p != nil {
		p.stop()
	}
}

func (c *conn) writeLoop() {
	f := &c.srv.cfg.Faults
	idle := f.IdleClose
	timer := time.NewTimer(idle)
	defer timer.Stop()
	last := time.Now()
	for {
		select {
		case <-c.done:
			return
		case fr := <-c.out:
			if fr.closeCode != 0 {
				c.closeWith(fr.closeCode, fr.closeText)
				return
			}
			if fr.channel != "" {
				c.dataN++
				if f.UnknownEvery > 0 && c.dataN%uint64(f.UnknownEvery) == 0 {
					if !c.write(unknownFrame) {
						return
					}
				}
				if f.MalformedEvery > 0 && c.dataN%uint64(f.MalformedEvery) == 0 {
					if !c.write(fr.data[:len(fr.data)/2]) {
						return
					}
					last = time.Now()
					continue
				}
				if f.BombEvery > 0 && c.dataN%uint64(f.BombEvery) == 0 {
					_ = c.ws.SetWriteDeadline(time.Now().Add(time.Minute)) // the first one is compressed on the way
					if err := c.ws.WritePreparedMessage(c.srv.bomb()); err != nil {
						c.kill()
						return
					}
					c.srv.stats.fault("bomb") // counted once written, like data
				}
			}
			data := fr.data
			if f.BadValueEvery > 0 && fr.channel != "" && fr.items == 1 && c.dataN%uint64(f.BadValueEvery) == 0 {
				if bad, ok := withBadValue(data, c.dataN/uint64(f.BadValueEvery)); ok {
					c.srv.stats.fault("bad_value")
					if !c.write(bad) {
						return
					}
					c.srv.stats.data(fr.channel, 0) // the frame was sent; its one item is not data
					last = time.Now()
					continue
				}
			}
			if c.srv.cfg.EmbedSendTime && (fr.channel == "trades" || fr.channel == "trades-all") {
				c.stamp = stampSendTime(append(c.stamp[:0], data...))
				data = c.stamp
			}
			if !c.write(data) {
				return
			}
			if fr.channel != "" {
				c.srv.stats.data(fr.channel, fr.items)
			}
			last = time.Now()
		case now := <-timer.C:
			if since := now.Sub(last); since < idle {
				timer.Reset(idle - since)
				continue
			}
			c.srv.log.Info("okxsim: idle close", "connId", c.id)
			c.closeWith(4004, "No data received in 30s.")
			return
		}
	}
}

var tradeIDKey = []byte(`"tradeId":"`)

// stampSendTime overwrites the tradeId digits of a trades push (generated as the generation time in Unix ns,
// EmbedSendTime) with the time now, just before the frame is written: latency benchmarks then measure from
// the send, not from the generation (which would count the frame's wait in the connection's queue).
func stampSendTime(b []byte) []byte {
	i := bytes.Index(b, tradeIDKey)
	if i < 0 {
		return b
	}
	i += len(tradeIDKey)
	j := i
	for j < len(b) && b[j] >= '0' && b[j] <= '9' {
		j++
	}
	var d [20]byte
	ts := strconv.AppendInt(d[:0], time.Now().UnixNano(), 10)
	if len(ts) == j-i {
		copy(b[i:j], ts)
	}
	return b
}

var unknownFrame = []byte(`{"arg":{"channel":"sim-unknown-channel","instId":"BTC-USDT"},"data":[{"foo":"1","ts":"1597026383085"}]}`)

func (c *conn) write(b []byte) bool {
	_ = c.ws.SetWriteDeadline(time.Now().Add(writeTimeout))
	if err := c.ws.WriteMessage(websocket.TextMessage, b); err != nil {
		c.kill()
		return false
	}
	return true
}

// event builds a control message {"id"?,"event":ev,"arg"?|"code","msg","connId"} in OKX field order.
func (c *conn) event(ev, id, code, msg string, arg []byte) []byte {
	b := make([]byte, 0, 128+len(msg)+len(arg))
	b = append(b, '{')
	if id != "" {
		b = appendKV(b, "id", id)
	}
	b = appendKV(b, "event", ev)
	if arg != nil {
		b = appendKRaw(b, "arg", arg)
	}
	if code != "" {
		b = appendKV(b, "code", code)
		b = appendKV(b, "msg", msg)
	}
	b = appendKV(b, "connId", c.id)
	return append(b, '}')
}

func (c *conn) sendError(id, code, msg string) {
	c.sendControl(c.event("error", id, code, msg, nil))
}

func (c *conn) refuse(id string, e *okxproto.Error) { c.sendError(id, e.Code, e.Msg) }

// sendDataWait queues a data frame, waiting for queue space (capture replay must not drop frames).
func (c *conn) sendDataWait(channel string, b []byte, items int) bool {
	select {
	case c.out <- outFrame{data: b, channel: channel, items: items}:
		return true
	case <-c.done:
		return false
	}
}
