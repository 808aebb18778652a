package replay

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/okxtape/okxtape/store/parquet"

	"github.com/gorilla/websocket"

	"github.com/okxtape/okxtape/schema"
)

// rawStore writes raw frames (rendered from tickers and trades of two instruments) and a session row.
func rawStore(t *testing.T, dir string) []*schema.Raw {
	var raws []*schema.Raw
	var evs []schema.Stored
	seq := uint64(100)
	for i := 0; i < 200; i++ {
		inst := []string{"BTC-USDT", "ETH-USDT"}[i%2]
		var ev schema.Stored = ticker(0, day0+int64(i)*7, inst, 100+float64(i))
		if i%3 == 0 {
			ev = trade(0, day0+int64(i)*7, inst, int64(i), 100+float64(i))
		}
		frame, _ := AppendPush(nil, ev)
		recv := day0 + int64(i)*7 + 3 - int64(i%4) // receive times jitter a little
		r := &schema.Raw{Header: schema.Header{Seq: seq, RecvNs: recv * 1e6, Channel: ev.Hdr().Channel,
			InstID: inst, Ts: recv}, Endpoint: schema.EndpointPublic, Frame: string(frame)}
		seq++
		raws = append(raws, r)
		evs = append(evs, r)
	}
	evs = append(evs, &schema.Session{Header: schema.Header{Seq: 99, Ts: day0 - 1000}, SessionID: "s1",
		StartMs: day0 - 1000, Channels: "tickers,trades", Instruments: "BTC-USDT,ETH-USDT"})
	writeStore(t, dir, parquet.Options{MaxFileRows: 64}, evs)
	return raws
}

// serveEvents writes evs to a new Parquet store and serves it (default options): the ws:// URL.
func serveEvents(t *testing.T, evs []schema.Stored) string {
	t.Helper()
	dir := t.TempDir()
	writeStore(t, dir, parquet.Options{}, evs)
	return startServer(t, ServeOptions{Source: NewParquetSource(dir)})
}

func startServer(t *testing.T, o ServeOptions) string {
	t.Helper()
	_, url := serveOn(t, o)
	return url
}

// serveOn starts a Server for o on a free local port until the test ends: the server and its ws:// URL.
func serveOn(t *testing.T, o ServeOptions) (*Server, string) {
	t.Helper()
	srv, err := NewServer(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return srv, "ws://" + ln.Addr().String()
}

func dial(t *testing.T, url string) *websocket.Conn {
	t.Helper()
	c, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func read(t *testing.T, c *websocket.Conn) string {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, b, err := c.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var connIDRe = regexp.MustCompile(`"connId":"[0-9a-f]{8}"`)

func TestServeSendsRecordedRawFramesInOrder(t *testing.T) {
	dir := t.TempDir()
	raws := rawStore(t, dir)
	url := startServer(t, ServeOptions{Source: NewParquetSource(dir), Speed: 0})
	c := dial(t, url+"/ws/v5/public")
	req := `{"id":"42","op":"subscribe","args":[{"channel":"tickers","instId":"BTC-USDT"},{"channel":"trades","instId":"BTC-USDT"}]}`
	if err := c.WriteMessage(websocket.TextMessage, []byte(req)); err != nil {
		t.Fatal(err)
	}
	for _, ch := range []string{"tickers", "trades"} {
		ack := read(t, c)
		want := fmt.Sprintf(`{"id":"42","event":"subscribe","arg":{"channel":"%s","instId":"BTC-USDT"},`, ch)
		if !strings.HasPrefix(ack, want) || !connIDRe.MatchString(ack) {
			t.Fatalf("ack %s, want prefix %s and an 8-hex connId", ack, want)
		}
	}
	var sel []schema.Stored
	for _, r := range raws {
		if r.InstID == "BTC-USDT" {
			sel = append(sel, r)
		}
	}
	want := expectOrder(sel)
	bySeq := map[uint64]string{}
	for _, r := range raws {
		bySeq[r.Seq] = r.Frame
	}
	for i, w := range want {
		if got := read(t, c); got != bySeq[w.Seq] {
			t.Fatalf("frame %d:\n got %s\nwant %s", i, got, bySeq[w.Seq])
		}
	}
	// Nothing else (no ETH frames) follows; ping still answers.
	if err := c.WriteMessage(websocket.TextMessage, []byte("ping")); err != nil {
		t.Fatal(err)
	}
	if got := read(t, c); got != "pong" {
		t.Fatalf("after the range: got %s, want pong", got)
	}
}

func TestServeErrors(t *testing.T) {
	dir := t.TempDir()
	rawStore(t, dir)
	url := startServer(t, ServeOptions{Source: NewParquetSource(dir), Speed: 1})
	c := dial(t, url+"/ws/v5/public")
	cases := []struct{ req, code, msg string }{
		{`{"id":"1","op":"subscribe","args":[{"channel":"nosuch","instId":"BTC-USDT"}]}`, "60018",
			"Wrong URL or channel:nosuch, instId:BTC-USDT doesn't exist. Please use the correct URL, channel and parameters referring to API document."},
		{`{"op":"subscribe","args":[{"channel":"tickers","instId":"DOGE-USDT"}]}`, "60018",
			"Wrong URL or channel:tickers, instId:DOGE-USDT doesn't exist. Please use the correct URL, channel and parameters referring to API document."},
		{`{"id":"2","op":"subscribe","argss":[{"channel":"tickers","instId":"BTC-USDT"}]}`, "60012", ""},
		{`not json`, "60012", ""},
		{`{"op":"subscribe","args":[{"channel":"candle1m","instId":"BTC-USDT"}]}`, "64001", ""},
	}
	for _, tc := range cases {
		if err := c.WriteMessage(websocket.TextMessage, []byte(tc.req)); err != nil {
			t.Fatal(err)
		}
		var e map[string]string
		got := read(t, c)
		if err := json.Unmarshal([]byte(got), &e); err != nil {
			t.Fatalf("%s: %v", got, err)
		}
		if e["event"] != "error" || e["code"] != tc.code || len(e["connId"]) != 8 || e["arg"] != "" {
			t.Fatalf("%s → %s, want error %s", tc.req, got, tc.code)
		}
		if tc.msg != "" && e["msg"] != tc.msg {
			t.Fatalf("msg %q, want %q", e["msg"], tc.msg)
		}
		if strings.Contains(tc.req, `"id":"1"`) && e["id"] != "1" {
			t.Fatalf("id not echoed: %s", got)
		}
	}
	if err := c.WriteMessage(websocket.TextMessage, []byte("ping")); err != nil {
		t.Fatal(err)
	}
	if got := read(t, c); got != "pong" {
		t.Fatalf("ping → %s", got)
	}
	b := dial(t, url+"/ws/v5/business")
	if err := b.WriteMessage(websocket.TextMessage, []byte(`{"op":"subscribe","args":[{"channel":"tickers","instId":"BTC-USDT"}]}`)); err != nil {
		t.Fatal(err)
	}
	if got := read(t, b); !strings.Contains(got, `"code":"64002"`) {
		t.Fatalf("public channel on business: %s", got)
	}
}

func TestServeRendersWithoutRawFrames(t *testing.T) {
	evs := []schema.Stored{ticker(1, day0, "BTC-USDT", 1), trade(2, day0+1, "BTC-USDT", 5, 2), ticker(3, day0+2, "BTC-USDT", 3)}
	url := serveEvents(t, evs)
	c := dial(t, url+"/ws/v5/public")
	if err := c.WriteMessage(websocket.TextMessage, []byte(`{"op":"subscribe","args":[{"channel":"tickers","instId":"BTC-USDT"}]}`)); err != nil {
		t.Fatal(err)
	}
	read(t, c) // ack
	for _, e := range []schema.Stored{evs[0], evs[2]} {
		want, _ := AppendPush(nil, e)
		if got := read(t, c); got != string(want) {
			t.Fatalf("got %s want %s", got, want)
		}
	}
}
