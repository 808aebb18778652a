package replay

// The conformance suite runs the same scripted client sessions against okxsim (the reference for what live
// OKX does) and against replay serve of a recording of that simulator, and compares the transcripts: every
// control frame (acks, errors, login, pong, close code and text) exactly, in order, with the connId
// normalised; and per stream the sequence of its acks and push shapes (channel, instId, action, the data
// element's keys in order, snapshot prevSeqId -1) with runs of same-shaped pushes collapsed. A books client
// checks seqId chains and non-zero checksums on both sides. Data values differ (the simulator is live), so
// they are not compared.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/okxtape/okxtape/ingest"
	"github.com/okxtape/okxtape/ingest/decode"
	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/sim"
	"github.com/okxtape/okxtape/store/parquet"
)

const confIdle = 1500 * time.Millisecond

// The simulator's account (the recorder logs in with it to record books-l2-tbt; sessions log in with it).
const confKey, confSecret, confPass = "conf-key", "conf-secret", "conf-pass"

// recordSim records the simulator for d with ingest's client (raw frames on) into a Parquet store.
func recordSim(t *testing.T, addr string, d time.Duration) string {
	t.Helper()
	var mu sync.Mutex
	var evs []schema.Stored
	var seq uint64
	var subs []decode.Arg
	for _, inst := range []string{"BTC-USDT", "ETH-USDT"} {
		for _, ch := range []string{"tickers", "books", "trades", "trades-all"} {
			subs = append(subs, decode.Arg{Channel: ch, InstID: inst})
		}
	}
	subs = append(subs, decode.Arg{Channel: "books-l2-tbt", InstID: "BTC-USDT"})
	// One arg per connection: books-l2-tbt and books of one instrument cannot share a connection (64004).
	cfg := ingest.Config{WSURL: "ws://" + addr, RESTURL: "http://" + addr, Subscriptions: subs, RawFrames: true,
		MaxArgsPerConn: 1, Credentials: ingest.Credentials{APIKey: confKey, Secret: confSecret, Passphrase: confPass},
		MaxConnPerSec: 100, ConnectTimeout: 5 * time.Second, AckTimeout: 2 * time.Second,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Emit: func(e schema.Event) {
			s, ok := e.(schema.Stored)
			if !ok || schema.TableOf(s.Kind()) == nil {
				return
			}
			c := schema.Clone(s)
			mu.Lock()
			seq++
			c.Hdr().Seq = seq
			evs = append(evs, c)
			mu.Unlock()
		}}
	c, err := ingest.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if err := c.Run(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(evs) < 100 {
		t.Fatalf("recorded only %d events", len(evs))
	}
	evs = append(evs, sessionRow(0, evs[0].Hdr().Ts-1000, "tickers,books,trades,trades-all,books-l2-tbt", "BTC-USDT,ETH-USDT"))
	dir := t.TempDir()
	writeStore(t, dir, parquet.Options{}, evs)
	return dir
}

// transcript is what a session saw, normalised for comparison.
type transcript struct {
	control []string            // control frames in order
	streams map[string][]string // per stream: acks and push shapes, runs collapsed
	counts  map[string]int      // pushes per stream
	books   *okxClient          // chain/checksum validation
	closed  string              // close code and text, if the server closed
}

var connIDField = regexp.MustCompile(`"connId":"[0-9a-f]{8}"`)

func (tr *transcript) add(stream, tok string) {
	s := tr.streams[stream]
	if len(s) > 0 && s[len(s)-1] == tok && strings.HasPrefix(tok, "push") {
		return
	}
	tr.streams[stream] = append(s, tok)
}

// shape reduces a push to its shape: channel, instId, action, data element keys in order.
func shape(raw []byte, m *pushMsg) string {
	var keys []string
	if len(m.Data) > 0 {
		dec := json.NewDecoder(strings.NewReader(string(m.Data[0])))
		if tok, _ := dec.Token(); tok == json.Delim('{') {
			for dec.More() {
				k, _ := dec.Token()
				keys = append(keys, fmt.Sprint(k))
				var skip json.RawMessage
				_ = dec.Decode(&skip)
			}
		} else {
			var arr []json.RawMessage
			_ = json.Unmarshal(m.Data[0], &arr)
			keys = append(keys, fmt.Sprintf("array[%d]", len(arr)))
		}
	}
	s := "push " + m.Action + " keys=" + strings.Join(keys, ",")
	if m.Action == "snapshot" && !strings.Contains(string(raw), `"prevSeqId":-1`) {
		s += " BAD-SNAPSHOT"
	}
	return s
}

// session is a scripted client session.
type session struct {
	name string
	path string
	run  func(s *sessionRun)
}

// sessionRun drives one session against one server.
type sessionRun struct {
	t  *testing.T
	k  *okxClient
	tr *transcript
}

func (s *sessionRun) send(msg string) { s.k.send(msg) }

// until reads frames into the transcript until cond holds (or the server closes the connection).
func (s *sessionRun) until(cond func(tr *transcript) bool) {
	s.t.Helper()
	for !cond(s.tr) && s.tr.closed == "" {
		_ = s.k.c.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, b, err := s.k.c.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				s.tr.closed = fmt.Sprintf("close %d %s", ce.Code, ce.Text)
				return
			}
			s.t.Fatalf("read: %v", err)
		}
		s.record(b)
	}
}

func (s *sessionRun) record(b []byte) {
	if string(b) == "pong" {
		s.tr.control = append(s.tr.control, "pong")
		return
	}
	var m pushMsg
	if err := json.Unmarshal(b, &m); err != nil {
		s.t.Fatalf("bad frame %s", b)
	}
	stream := m.Arg.Channel + "|" + m.Arg.InstID
	if m.Event != "" {
		s.tr.control = append(s.tr.control, connIDField.ReplaceAllString(string(b), `"connId":"-"`))
		if m.Event == "subscribe" || m.Event == "unsubscribe" {
			s.tr.add(stream, "ack "+m.Event)
		}
		return
	}
	if m.Action != "" {
		if err := s.k.apply(&m); err != nil {
			s.t.Errorf("%s: %v", stream, err)
		}
	}
	s.tr.counts[stream]++
	s.tr.add(stream, shape(b, &m))
}

func pushes(stream string, n int) func(*transcript) bool {
	return func(tr *transcript) bool { return tr.counts[stream] >= n }
}

func controls(n int) func(*transcript) bool {
	return func(tr *transcript) bool { return len(tr.control) >= n }
}

// pingBarrier sends ping and reads until pong: every frame the server queued before it has arrived.
func (s *sessionRun) pingBarrier() {
	s.send("ping")
	n := len(s.tr.control)
	s.until(func(tr *transcript) bool { return len(tr.control) > n && tr.control[len(tr.control)-1] == "pong" })
}

const (
	subBooks   = `{"id":"b1","op":"subscribe","args":[{"channel":"books","instId":"BTC-USDT"}]}`
	unsubBooks = `{"id":"b2","op":"unsubscribe","args":[{"channel":"books","instId":"BTC-USDT"}]}`
	subTickers = `{"id":"t1","op":"subscribe","args":[{"channel":"tickers","instId":"BTC-USDT"}]}`
)

var sessions = []session{
	{"first subscribe", "public", func(s *sessionRun) {
		s.send(`{"id":"1","op":"subscribe","args":[{"channel":"tickers","instId":"BTC-USDT"},{"channel":"books","instId":"BTC-USDT"}]}`)
		s.until(func(tr *transcript) bool {
			return tr.counts["books|BTC-USDT"] >= 4 && tr.counts["tickers|BTC-USDT"] >= 2
		})
		s.pingBarrier()
	}},
	{"late subscribe", "public", func(s *sessionRun) {
		s.send(subTickers)
		s.until(pushes("tickers|BTC-USDT", 5))
		s.send(subBooks)
		s.until(pushes("books|BTC-USDT", 4))
		s.pingBarrier()
	}},
	{"resubscribe", "public", func(s *sessionRun) {
		s.send(subBooks)
		s.until(pushes("books|BTC-USDT", 3))
		s.send(unsubBooks)
		s.until(controls(2))
		s.pingBarrier()
		n := s.tr.counts["books|BTC-USDT"]
		s.send(subBooks)
		s.until(pushes("books|BTC-USDT", n+3))
		s.send(subBooks) // a repeated subscribe: a fresh snapshot
		s.until(pushes("books|BTC-USDT", n+6))
		s.pingBarrier()
	}},
	{"unsubscribe", "public", func(s *sessionRun) {
		s.send(subTickers)
		s.until(pushes("tickers|BTC-USDT", 3))
		s.send(`{"id":"t2","op":"unsubscribe","args":[{"channel":"tickers","instId":"BTC-USDT"}]}`)
		s.until(controls(2))
		s.pingBarrier()
	}},
	{"bad requests", "public", func(s *sessionRun) {
		for _, req := range []string{
			`not json`,
			`{"id":"1","op":"subscribe","args":[]}`,
			`{"id":"2","op":"subscribe"}`,
			`{"id":"3","op":"subscribe","argss":[{"channel":"tickers","instId":"BTC-USDT"}]}`,
			`{"id":"4","op":"subscribe","args":["tickers"]}`,
			`{"id":"5","op":"subscribe","args":[{"instId":"BTC-USDT"}]}`,
			`{"id":"6","op":"subscribe","args":[{"channel":"nosuch","instId":"BTC-USDT"}]}`,
			`{"id":"7","op":"subscribe","args":[{"channel":"tickers","instId":"DOGE-USDT"}]}`,
			`{"id":"8","op":"subscribe","args":[{"channel":"tickers"}]}`,
			`{"id":"9","op":"subscribe","args":[{"channel":"tickers","instType":"SPOT"}]}`,
			`{"id":"10","op":"subscribe","args":[{"channel":"candle1m","instId":"BTC-USDT"}]}`,
			`{"id":"11","op":"subscribe","args":[{"channel":"trades-all","instId":"BTC-USDT"}]}`,
			`{"id":"12","op":"subscribe","args":[{"channel":"tickers","uly":"BTC-USDT"}]}`,
			`{"id":"13","op":"subscribe","args":[{"channel":"books-l2-tbt","instId":"BTC-USDT"}]}`,
			`{"id":"14","op":"subscribe","args":[{"channel":"orders","instType":"ANY"}]}`,
			`{"id":"15","op":"order","args":[{}]}`,
			`{"id":"bad-id!","op":"subscribe","args":[{"channel":"tickers","instId":"BTC-USDT"}]}`,
			`{"id":"16","op":"login","args":[{"apiKey":"","passphrase":"p","timestamp":"1","sign":"s"}]}`,
		} {
			n := len(s.tr.control)
			s.send(req)
			s.until(controls(n + 1))
		}
	}},
	{"ping", "public", func(s *sessionRun) { s.pingBarrier() }},
	{"request rate", "public", func(s *sessionRun) {
		for i := 0; i < 481; i++ { // OKX allows 480 subscribe/unsubscribe/login requests per hour
			n := len(s.tr.control)
			s.send(`{"id":"r","op":"unsubscribe","args":[{"channel":"tickers","instId":"ETH-USDT"}]}`)
			s.until(controls(n + 1))
		}
		s.tr.control = s.tr.control[len(s.tr.control)-2:]
	}},
	{"idle", "public", func(s *sessionRun) { s.until(func(*transcript) bool { return false }) }},
	{"oversized request", "public", func(s *sessionRun) {
		s.send(`{"op":"subscribe","args":[{"channel":"tickers","instId":"` + strings.Repeat("A", 70<<10) + `"}]}`)
		s.until(func(*transcript) bool { return false })
	}},
	{"books-l2-tbt exclusivity", "public", func(s *sessionRun) {
		s.send(string(sim.LoginArgs(confKey, confSecret, confPass, time.Now())))
		s.until(controls(1))
		s.send(subBooks)
		s.until(pushes("books|BTC-USDT", 2))
		s.send(`{"id":"l2","op":"subscribe","args":[{"channel":"books-l2-tbt","instId":"BTC-USDT"}]}`)
		s.until(pushes("books-l2-tbt|BTC-USDT", 2))
		s.pingBarrier()
		s.send(subBooks)
		s.until(func(tr *transcript) bool { return strings.Contains(tr.control[len(tr.control)-1], `"error"`) })
		s.pingBarrier()
	}},
	{"business", "business", func(s *sessionRun) {
		s.send(`{"id":"1","op":"subscribe","args":[{"channel":"tickers","instId":"BTC-USDT"}]}`)
		s.until(controls(1))
		s.send(`{"id":"2","op":"subscribe","args":[{"channel":"trades-all","instId":"BTC-USDT"}]}`)
		s.until(controls(2))
		s.pingBarrier()
	}},
}

func runSession(t *testing.T, url string, ss session) *transcript {
	k := &okxClient{t: t, books: map[string]*vbook{}}
	c, _, err := websocket.DefaultDialer.Dial(url+"/ws/v5/"+ss.path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	k.c = c
	tr := &transcript{streams: map[string][]string{}, counts: map[string]int{}, books: k}
	ss.run(&sessionRun{t: t, k: k, tr: tr})
	return tr
}

func TestConformanceWithSimulator(t *testing.T) {
	if testing.Short() {
		t.Skip("records the simulator for a few seconds")
	}
	simSrv, err := sim.New(sim.Config{Rate: 20, Faults: sim.Faults{IdleClose: confIdle, MaxConnPerSec: -1},
		APIKey: confKey, APISecret: confSecret, Passphrase: confPass,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	addr, err := simSrv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = simSrv.Close() })
	dir := recordSim(t, addr, 4*time.Second)
	simURL := "ws://" + addr
	for _, render := range []bool{false, true} {
		url := startServer(t, ServeOptions{Source: NewParquetSource(dir), Speed: 1, Render: render, IdleTimeout: confIdle})
		for _, ss := range sessions {
			t.Run(fmt.Sprintf("render=%v/%s", render, ss.name), func(t *testing.T) {
				want := runSession(t, simURL, ss)
				got := runSession(t, url, ss)
				compareTranscripts(t, want, got)
			})
		}
	}
}

func compareTranscripts(t *testing.T, want, got *transcript) {
	t.Helper()
	if !slices.Equal(want.control, got.control) {
		t.Errorf("control frames differ:\nokxsim: %s\nserve:  %s", strings.Join(want.control, "\n        "),
			strings.Join(got.control, "\n        "))
	}
	if want.closed != got.closed {
		t.Errorf("close: okxsim %q, serve %q", want.closed, got.closed)
	}
	keys := func(m map[string][]string) []string {
		var k []string
		for s := range m {
			k = append(k, s)
		}
		slices.Sort(k)
		return k
	}
	if !slices.Equal(keys(want.streams), keys(got.streams)) {
		t.Errorf("streams: okxsim %v, serve %v", keys(want.streams), keys(got.streams))
	}
	for s, w := range want.streams {
		if g := got.streams[s]; !slices.Equal(w, g) {
			t.Errorf("%s:\nokxsim: %s\nserve:  %s", s, strings.Join(w, "\n        "), strings.Join(g, "\n        "))
		}
	}
}
