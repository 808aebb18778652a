package wslimit

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// countingListener counts the bytes the server reads off the wire.
type countingListener struct {
	net.Listener
	n *atomic.Int64
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return countingConn{c, l.n}, nil
}

type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c countingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.n.Add(int64(n))
	return n, err
}

// pair starts a real server over loopback (compression negotiated) and returns the client and the server's
// connection.
func pair(t *testing.T) (client, server *websocket.Conn, wire *atomic.Int64) {
	t.Helper()
	wire = new(atomic.Int64)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan *websocket.Conn, 1)
	up := websocket.Upgrader{EnableCompression: true}
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			t.Error(err)
			return
		}
		got <- c
	})}
	go hs.Serve(countingListener{ln, wire})
	t.Cleanup(func() { hs.Close() })
	d := websocket.Dialer{EnableCompression: true}
	client, _, err = d.Dial("ws://"+ln.Addr().String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	server = <-got
	t.Cleanup(func() { server.Close() })
	return client, server, wire
}

// writeStreamed writes one message of n bytes of b through NextWriter in 64 KiB chunks (no n-byte buffer).
func writeStreamed(t *testing.T, c *websocket.Conn, n int, b byte) {
	t.Helper()
	c.EnableWriteCompression(true)
	w, err := c.NextWriter(websocket.TextMessage)
	if err != nil {
		t.Error(err)
		return
	}
	chunk := bytes.Repeat([]byte{b}, 64<<10)
	for left := n; left > 0; left -= len(chunk) {
		if _, err := w.Write(chunk[:min(left, len(chunk))]); err != nil {
			t.Error(err)
			return
		}
	}
	if err := w.Close(); err != nil {
		t.Error(err)
	}
}

func TestDeflateBombIsSkippedWithoutInflating(t *testing.T) {
	client, server, wire := pair(t)
	r := NewReader(server, ReadOptions{MaxMessage: 64 << 10})
	const bomb = 60 << 20
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	rss0 := rssBytes(t)
	go func() {
		writeStreamed(t, client, bomb, ' ')
		client.EnableWriteCompression(false)
		if err := client.WriteMessage(websocket.TextMessage, []byte("ping")); err != nil {
			t.Error(err)
		}
	}()
	_ = server.SetReadDeadline(time.Now().Add(30 * time.Second))
	_, _, err := r.Read()
	var tl *TooLargeError
	if !errors.As(err, &tl) || tl.Limit != 64<<10 || !IsTooLarge(err) {
		t.Fatalf("bomb: err %v, want *TooLargeError", err)
	}
	_, msg, err := r.Read()
	if err != nil || string(msg) != "ping" {
		t.Fatalf("after the bomb: %q %v, want the next message on the same connection", msg, err)
	}
	runtime.ReadMemStats(&after)
	if w := wire.Load(); w >= bomb/500 {
		t.Fatalf("the bomb took %d wire bytes; the test needs a compressed bomb", w)
	}
	// Everything the process allocated while the 60 MB message was sent (compressor state included) and
	// skipped stays far below its inflated size.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
		t.Fatalf("allocated %d bytes around a %d-byte message: it was inflated into memory", alloc, bomb)
	}
	if grew := rssBytes(t) - rss0; grew > 40<<20 {
		t.Fatalf("RSS grew by %d bytes around a %d-byte message", grew, bomb)
	}
	if r.Oversized() != 1 {
		t.Fatalf("oversized %d, want 1", r.Oversized())
	}
}

func TestReadLimits(t *testing.T) {
	client, server, _ := pair(t)
	r := NewReader(server, ReadOptions{MaxMessage: 1000})
	exact := bytes.Repeat([]byte("a"), 1000)
	go func() {
		for _, comp := range []bool{false, true} {
			client.EnableWriteCompression(comp)
			for _, m := range [][]byte{exact, append(exact, 'b'), []byte("small")} {
				if err := client.WriteMessage(websocket.TextMessage, m); err != nil {
					t.Error(err)
				}
			}
		}
		// A fragmented oversized message (many frames), then a small one.
		w, _ := client.NextWriter(websocket.BinaryMessage)
		for i := 0; i < 10; i++ {
			w.Write(bytes.Repeat([]byte("x"), 500))
		}
		w.Close()
		client.WriteMessage(websocket.TextMessage, []byte("last"))
	}()
	for _, comp := range []string{"plain", "compressed"} {
		if _, m, err := r.Read(); err != nil || !bytes.Equal(m, exact) {
			t.Fatalf("%s: message of exactly the limit: %d bytes, %v", comp, len(m), err)
		}
		if _, _, err := r.Read(); !IsTooLarge(err) {
			t.Fatalf("%s: limit+1: %v, want too large", comp, err)
		}
		if _, m, err := r.Read(); err != nil || string(m) != "small" {
			t.Fatalf("%s: next: %q %v", comp, m, err)
		}
	}
	if mt, _, err := r.Read(); !IsTooLarge(err) || mt != websocket.BinaryMessage {
		t.Fatalf("fragmented: %d %v", mt, err)
	}
	if _, m, err := r.Read(); err != nil || string(m) != "last" {
		t.Fatalf("after fragmented: %q %v", m, err)
	}
	if r.Oversized() != 3 {
		t.Fatalf("oversized %d, want 3", r.Oversized())
	}
}

func TestWireLimitFailsTheConnection(t *testing.T) {
	client, server, _ := pair(t)
	r := NewReader(server, ReadOptions{MaxMessage: 100, MaxWire: 1000})
	noise := make([]byte, 5000) // incompressible, so the wire size is the message size
	for i := range noise {
		noise[i] = byte(i*7919 + i*i*31)
	}
	client.EnableWriteCompression(false)
	go client.WriteMessage(websocket.BinaryMessage, noise)
	if _, _, err := r.Read(); err == nil || IsTooLarge(err) {
		t.Fatalf("over the wire limit: %v, want a connection error", err)
	}
}

func TestSenderCutsSlowConsumer(t *testing.T) {
	client, server, _ := pair(t)
	slow := []byte(`{"event":"error","code":"64007","msg":"slow"}`)
	s := NewSender(server, SendOptions{MaxMessages: 8, Policy: Cut, SlowFrame: slow})
	msg := bytes.Repeat([]byte("d"), 32<<10)
	sent := 0
	// The client reads nothing: kernel buffers fill, the writer blocks, the queue fills, the sender cuts.
	var err error
	for ; sent < 100000; sent++ {
		if err = s.Send(context.Background(), msg); err != nil {
			break
		}
		if m, b := s.Queued(); m > 8 || b > 4<<20 {
			t.Fatalf("queue over its bounds: %d msgs %d bytes", m, b)
		}
	}
	if !errors.Is(err, ErrSlowConsumer) {
		t.Fatalf("after %d sends: %v, want ErrSlowConsumer", sent, err)
	}
	if err := s.Send(context.Background(), msg); !errors.Is(err, ErrSlowConsumer) {
		t.Fatalf("send after the cut: %v", err)
	}
	var data int
	var last []byte
	for {
		_ = client.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, m, err := client.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if !errors.As(err, &ce) || ce.Code != 4005 || ce.Text != "Buffer is full" {
				t.Fatalf("end: %v, want close 4005", err)
			}
			break
		}
		if bytes.Equal(m, msg) {
			data++
		}
		last = m
	}
	if !bytes.Equal(last, slow) || data > sent {
		t.Fatalf("client got %d data frames of %d sent, last %q", data, sent, last)
	}
	<-s.Done()
}

func TestSenderBlocksUntilRoom(t *testing.T) {
	client, server, _ := pair(t)
	s := NewSender(server, SendOptions{MaxMessages: 2, MaxBytes: 1 << 20, Policy: Block})
	const n = 500
	go func() {
		for i := 0; i < n; i++ {
			b := []byte{byte(i), byte(i >> 8)}
			if err := s.Send(context.Background(), b); err != nil {
				t.Error(err)
				return
			}
			if m, _ := s.Queued(); m > 2 {
				t.Errorf("queued %d > 2", m)
			}
		}
		s.Close()
	}()
	for i := 0; i < n; i++ {
		_ = client.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, m, err := client.ReadMessage()
		if err != nil || len(m) != 2 || int(m[0])|int(m[1])<<8 != i {
			t.Fatalf("message %d: %v %v", i, m, err)
		}
	}
	<-s.Done()
	if s.Err() != nil {
		t.Fatal(s.Err())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Send(ctx, []byte("x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
}

func TestSenderCloseWith(t *testing.T) {
	client, server, _ := pair(t)
	s := NewSender(server, SendOptions{})
	s.Send(context.Background(), []byte("bye"))
	s.CloseWith(4004, "No data received in 30s.")
	if _, m, err := client.ReadMessage(); err != nil || string(m) != "bye" {
		t.Fatalf("%q %v", m, err)
	}
	_, _, err := client.ReadMessage()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != 4004 {
		t.Fatalf("%v, want close 4004", err)
	}
}

// rssBytes is the process's resident set size (Linux /proc; the test skips elsewhere).
func rssBytes(t *testing.T) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status:", err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) == 3 && f[0] == "VmRSS:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Skip("no VmRSS")
	return 0
}
