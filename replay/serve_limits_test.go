package replay

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/okxtape/okxtape/internal/testenv"
	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/store/parquet"
)

// startServerS is startServer returning the server, logging into the returned buffer.
func startServerS(t *testing.T, o ServeOptions) (*Server, string, *testenv.LogBuffer) {
	t.Helper()
	logs := &testenv.LogBuffer{}
	o.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv, url := serveOn(t, o)
	return srv, url, logs
}

// poll waits for cond (polling; the timeout only guards against hanging).
func poll(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testenv.Eventually(t, 10*time.Second, cond, "%s", what)
}

func (s *Server) connCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

func tickerStore(t *testing.T, n int) string {
	dir := t.TempDir()
	evs := make([]schema.Stored, 0, n+1)
	for i := 0; i < n; i++ {
		evs = append(evs, ticker(uint64(i+1), day0+int64(i), "BTC-USDT", 100+float64(i%100)))
	}
	evs = append(evs, sessionRow(0, day0-1000, "tickers", "BTC-USDT"))
	writeStore(t, dir, parquet.Options{}, evs)
	return dir
}

func subscribe(t *testing.T, c *websocket.Conn, req string) {
	t.Helper()
	if err := c.WriteMessage(websocket.TextMessage, []byte(req)); err != nil {
		t.Fatal(err)
	}
}

func TestServeConnectionCap(t *testing.T) {
	_, url, logs := startServerS(t, ServeOptions{Source: NewParquetSource(tickerStore(t, 10)), MaxConns: 2})
	dial(t, url+"/ws/v5/public")
	dial(t, url+"/ws/v5/public")
	_, resp, err := websocket.DefaultDialer.Dial(url+"/ws/v5/public", nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("third connection: %v %v, want HTTP 503", resp, err)
	}
	if !strings.Contains(logs.String(), "connection cap reached") {
		t.Fatalf("no log line for the refusal:\n%s", logs)
	}
}

// A paced connection whose client stops reading is cut once its bounded queue fills: an error frame, close
// 4005 and one WARN line; the server's memory for it stays within the queue bound.
func TestServeCutsSlowConsumer(t *testing.T) {
	srv, url, logs := startServerS(t, ServeOptions{Source: NewParquetSource(tickerStore(t, 30000)), Speed: 1e6,
		SendQueue: 64 << 10})
	d := websocket.Dialer{NetDial: func(network, addr string) (net.Conn, error) {
		c, err := net.Dial(network, addr)
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetReadBuffer(4096)
		}
		return c, err
	}}
	c, _, err := d.Dial(url+"/ws/v5/public", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	subscribe(t, c, `{"op":"subscribe","args":[{"channel":"tickers","instId":"BTC-USDT"}]}`)
	poll(t, "the slow-consumer cut", func() bool { return srv.Stats().SlowCut.Load() == 1 })
	var last []byte
	frames := 0
	for {
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, b, err := c.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if !errors.As(err, &ce) || ce.Code != 4005 {
				t.Fatalf("end: %v, want close 4005", err)
			}
			break
		}
		frames++
		last = b
	}
	var e map[string]string
	if json.Unmarshal(last, &e) != nil || e["event"] != "error" || e["code"] != "4005" || len(e["connId"]) != 8 {
		t.Fatalf("last frame %s, want the slow-consumer error", last)
	}
	if frames >= 30000 || strings.Count(logs.String(), "slow consumer") != 1 {
		t.Fatalf("frames %d; logs:\n%s", frames, logs)
	}
}

// A request inflating past 64 KiB is refused like OKX refuses a large one (close 1009), even when its
// compressed size is small.
func TestServeCompressedRequestOverLimit(t *testing.T) {
	srv, url, _ := startServerS(t, ServeOptions{Source: NewParquetSource(tickerStore(t, 10))})
	d := websocket.Dialer{EnableCompression: true}
	c, _, err := d.Dial(url+"/ws/v5/public", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	subscribe(t, c, `{"op":"subscribe","args":[{"channel":"tickers","instId":"`+strings.Repeat("A", 1<<20)+`"}]}`)
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, _, err = c.ReadMessage()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.CloseMessageTooBig {
		t.Fatalf("%v, want close 1009", err)
	}
	if srv.Stats().Oversized.Load() != 1 {
		t.Fatalf("oversized %d", srv.Stats().Oversized.Load())
	}
}

// Connections that start together at a paced speed share one read of the range; client aborts are not
// errors.
func TestServeSharesReadsAndLogsAbortsAtDebug(t *testing.T) {
	srv, url, logs := startServerS(t, ServeOptions{Source: NewParquetSource(tickerStore(t, 2000)), Speed: 1})
	var cs []*websocket.Conn
	for i := 0; i < 5; i++ {
		c := dial(t, url+"/ws/v5/public")
		subscribe(t, c, `{"op":"subscribe","args":[{"channel":"tickers","instId":"BTC-USDT"}]}`)
		read(t, c) // ack
		read(t, c) // first push: playing
		cs = append(cs, c)
	}
	if n := srv.Stats().Chains.Load(); n != 1 {
		t.Fatalf("%d reads of the range for 5 connections, want 1", n)
	}
	for _, c := range cs {
		c.Close()
	}
	for i := 0; i < 10; i++ { // connect, subscribe, abort
		c := dial(t, url+"/ws/v5/public")
		subscribe(t, c, `{"op":"subscribe","args":[{"channel":"tickers","instId":"BTC-USDT"}]}`)
		c.Close()
	}
	poll(t, "all connections gone", func() bool { return srv.connCount() == 0 })
	if strings.Contains(logs.String(), "level=ERROR") {
		t.Fatalf("client aborts logged as errors:\n%s", logs)
	}
}

// BenchmarkServeConnections measures the heap that 199 more connections add to one already playing the same
// 50k-ticker range, paced (--speed 1) and unpaced (--speed max); both share one read while they keep together.
func BenchmarkServeConnections(b *testing.B) {
	dir := b.TempDir()
	evs := make([]schema.Stored, 0, 50001)
	for i := 0; i < 50000; i++ {
		evs = append(evs, ticker(uint64(i+1), day0+int64(i)*10, "BTC-USDT", 100+float64(i%100)))
	}
	evs = append(evs, sessionRow(0, day0-1000, "tickers", "BTC-USDT"))
	writeStore(b, dir, parquet.Options{}, evs)
	evs = nil
	b.Run("paced", func(b *testing.B) { benchConnections(b, dir, 1) })
	b.Run("max", func(b *testing.B) { benchConnections(b, dir, 0) })
}

func benchConnections(b *testing.B, dir string, speed float64) {
	srv, err := NewServer(context.Background(), ServeOptions{Source: NewParquetSource(dir), Speed: speed,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), SendQueue: 256 << 10})
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = srv.Serve(ctx, ln) }()
	url := "ws://" + ln.Addr().String() + "/ws/v5/public"
	var before runtime.MemStats
	const n = 200
	var conns []*websocket.Conn
	for i := 0; i < n; i++ {
		if i == 1 { // baseline: the server with one connection playing (the shared read is open)
			runtime.GC()
			runtime.ReadMemStats(&before)
		}
		c, _, err := websocket.DefaultDialer.Dial(url, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		if err := c.WriteMessage(websocket.TextMessage, []byte(`{"op":"subscribe","args":[{"channel":"tickers","instId":"BTC-USDT"}]}`)); err != nil {
			b.Fatal(err)
		}
		for j := 0; j < 2; j++ { // ack, first push
			if _, _, err := c.ReadMessage(); err != nil {
				b.Fatal(err)
			}
		}
		conns = append(conns, c)
	}
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	held := float64(after.HeapInuse) - float64(before.HeapInuse)
	b.ReportMetric(held/(1<<20), "heap-MB")
	b.ReportMetric(held/(n-1)/1024, "heap-KB/conn")
	b.ReportMetric(float64(after.HeapInuse)/(1<<20), "heap-total-MB")
	b.ReportMetric(float64(srv.Stats().Chains.Load()), "reads")
}

// A stored range that cannot be read to its end (a damaged Parquet file) ends the connection with an error
// event and close 1011 and one ERROR line, not with acks and silence.
func TestServeUnreadableRangeIsReported(t *testing.T) {
	dir := tickerStore(t, 5000)
	var target string
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".parquet") && strings.Contains(p, "tickers") {
			target = p
		}
		return nil
	})
	if target == "" {
		t.Fatalf("no tickers file under %s", dir)
	}
	b, err := os.ReadFile(target)
	if err != nil {
		t.Fatal(err)
	}
	footer := len(b) - 8 - int(binary.LittleEndian.Uint32(b[len(b)-8:])) // footer length, then "PAR1"
	for i := 64; i < min(len(b)/2, footer); i++ {                        // damage the data pages, keep the footer (the file is still listed)
		b[i] ^= 0x5a
	}
	if err := os.WriteFile(target, b, 0o644); err != nil {
		t.Fatal(err)
	}
	_, url, logs := startServerS(t, ServeOptions{Source: NewParquetSource(dir)})
	c := dial(t, url+"/ws/v5/public")
	subscribe(t, c, `{"op":"subscribe","args":[{"channel":"tickers","instId":"BTC-USDT"}]}`)
	var last string
	for {
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, m, err := c.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if !errors.As(err, &ce) || ce.Code != websocket.CloseInternalServerErr {
				t.Fatalf("end: %v, want close 1011", err)
			}
			break
		}
		last = string(m)
	}
	if !strings.Contains(last, `"code":"64007"`) || strings.Count(logs.String(), "level=ERROR") != 1 {
		t.Fatalf("last frame %s; logs:\n%s", last, logs)
	}
}

// readFrames reads the ack, then the connection has sent want data frames (after the ack).
func readFrames(t *testing.T, c *websocket.Conn, want int) []string {
	t.Helper()
	read(t, c) // ack
	out := make([]string, 0, want)
	for len(out) < want {
		out = append(out, read(t, c))
	}
	return out
}

// At --speed max two connections start on one shared read; the one whose client reads slowly falls behind
// and detaches onto a read of its own (so it does not pin the chunks in between), and still receives exactly
// the same frames in the same order.
func TestServeLaggingConnectionDetaches(t *testing.T) {
	const n = 30000 // 8 chunks
	srv, url, _ := startServerS(t, ServeOptions{Source: NewParquetSource(tickerStore(t, n)), SendQueue: 64 << 10})
	srv.maxLag = 2
	req := `{"op":"subscribe","args":[{"channel":"tickers","instId":"BTC-USDT"}]}`
	fast, slow := dial(t, url+"/ws/v5/public"), dial(t, url+"/ws/v5/public")
	subscribe(t, fast, req)
	subscribe(t, slow, req)
	got := readFrames(t, fast, n)
	if srv.Stats().Chains.Load() != 1 {
		t.Fatalf("%d reads before the lag, want 1 shared", srv.Stats().Chains.Load())
	}
	lagged := readFrames(t, slow, n)
	if srv.Stats().Detached.Load() != 1 || srv.Stats().Chains.Load() != 2 {
		t.Fatalf("detached %d, reads %d; want the slow connection on its own read", srv.Stats().Detached.Load(),
			srv.Stats().Chains.Load())
	}
	for i := range got {
		if got[i] != lagged[i] {
			t.Fatalf("frame %d differs after detaching:\n%s\n%s", i, got[i], lagged[i])
		}
	}
}
