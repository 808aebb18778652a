package sim

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/okxtape/okxtape/internal/testenv"
)

func TestSubscribeAcksPerArg(t *testing.T) {
	_, addr := startSim(t, Config{Rate: 20})
	c := dial(t, addr, "public?brokerId=9999")
	args := []string{
		`{"channel":"tickers","instId":"BTC-USDT"}`,
		`{"channel":"trades","instId":"ETH-USDT"}`,
		`{"channel":"books5","instId":"BTC-USDT-SWAP"}`,
	}
	c.send(`{"id":"1512","op":"subscribe","args":[` + strings.Join(args, ",") + `]}`)
	var acks []msg
	for len(acks) < len(args) {
		acks = append(acks, c.next(time.Second, isEvent("subscribe")))
	}
	connID := acks[0].ConnID
	for i, a := range acks {
		want := `{"id":"1512","event":"subscribe","arg":` + args[i] + `,"connId":"` + connID + `"}`
		if string(a.raw) != want {
			t.Errorf("ack %d:\n got %s\nwant %s", i, a.raw, want)
		}
	}
	if !isHex8(connID) {
		t.Fatalf("connId %q is not 8 hex chars", connID)
	}
	for _, ch := range []string{"tickers", "trades", "books5"} {
		c.next(time.Second, isPush(ch))
	}
	c.send(`{"op":"unsubscribe","args":[{"channel":"tickers","instId":"BTC-USDT"}]}`)
	un := c.next(time.Second, isEvent("unsubscribe"))
	if un.Arg["channel"] != "tickers" || un.ID != "" || un.ConnID != connID {
		t.Fatalf("unsubscribe ack %s", un.raw)
	}
	// No tickers push may follow the unsubscribe ack.
	deadline := time.Now().Add(300 * time.Millisecond)
	for time.Now().Before(deadline) {
		if m := decode(t, c.read(time.Second)); m.Arg["channel"] == "tickers" {
			t.Fatalf("tickers push after unsubscribe: %s", m.raw)
		}
	}
}

func TestErrorCodes(t *testing.T) {
	tests := []struct {
		name, path, req, code, msg string
	}{
		{"argss", "public", `{"id":"7","op":"subscribe","argss":[{"channel":"tickers","instId":"BTC-USDT"}]}`, "60012", `Invalid request: {"id":"7","op":"subscribe","argss":[{"channel":"tickers","instId":"BTC-USDT"}]}`},
		{"bad json", "public", `{"op":`, "60012", `Invalid request: {"op":`},
		{"empty args", "public", `{"op":"subscribe","args":[]}`, "60012", ""},
		{"bad id", "public", `{"id":"a-b","op":"subscribe","args":[{"channel":"tickers","instId":"BTC-USDT"}]}`, "60012", ""},
		{"unknown op", "public", `{"id":"7","op":"subscrib","args":[{"channel":"tickers","instId":"BTC-USDT"}]}`, "60019", "Invalid op: op:subscrib"},
		{"unknown channel", "public", `{"op":"subscribe","args":[{"channel":"tickerz","instId":"BTC-USDT"}]}`, "60018", "Wrong URL or channel:tickerz, instId:BTC-USDT doesn't exist. Please use the correct URL, channel and parameters referring to API document."},
		{"unknown instId", "public", `{"op":"subscribe","args":[{"channel":"index-tickers","instId":"NEAR-USDT-SWAP"}]}`, "60018", "Wrong URL or channel:index-tickers, instId:NEAR-USDT-SWAP doesn't exist. Please use the correct URL, channel and parameters referring to API document."},
		{"funding on spot", "public", `{"op":"subscribe","args":[{"channel":"funding-rate","instId":"BTC-USDT"}]}`, "60018", ""},
		{"unknown bar", "business", `{"op":"subscribe","args":[{"channel":"candle7m","instId":"BTC-USDT"}]}`, "60018", ""},
		{"candles on public", "public", `{"op":"subscribe","args":[{"channel":"candle1m","instId":"BTC-USDT"}]}`, "64001", ""},
		{"trades-all on public", "public", `{"op":"subscribe","args":[{"channel":"trades-all","instId":"BTC-USDT"}]}`, "64001", ""},
		{"public on business", "business", `{"op":"subscribe","args":[{"channel":"tickers","instId":"BTC-USDT"}]}`, "64002", ""},
		{"private without login", "private", `{"op":"subscribe","args":[{"channel":"orders","instType":"ANY"}]}`, "60011", "Please log in"},
		{"private on public", "public", `{"op":"subscribe","args":[{"channel":"orders","instType":"ANY"}]}`, "60018", ""},
		{"l2-tbt without login", "public", `{"op":"subscribe","args":[{"channel":"books-l2-tbt","instId":"BTC-USDT"}]}`, "64003", ""},
		{"books50-l2-tbt without login", "public", `{"op":"subscribe","args":[{"channel":"books50-l2-tbt","instId":"BTC-USDT"}]}`, "64003", ""},
		{"uly", "public", `{"op":"subscribe","args":[{"channel":"instruments","uly":"BTC-USD"}]}`, "64000", ""},
	}
	_, addr := startSim(t, Config{})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, addr, tc.path)
			c.send(tc.req)
			e := c.next(time.Second, isEvent("error"))
			if e.Code != tc.code {
				t.Fatalf("code %s, want %s (%s)", e.Code, tc.code, e.raw)
			}
			if tc.msg != "" && e.Msg != tc.msg {
				t.Fatalf("msg %q, want %q", e.Msg, tc.msg)
			}
			if !isHex8(e.ConnID) || e.Arg != nil {
				t.Fatalf("error event shape: %s", e.raw)
			}
			if strings.Contains(tc.req, `"id":"7"`) && e.ID != "7" {
				t.Fatalf("id not echoed: %s", e.raw)
			}
		})
	}
}

func TestSubscribeRateLimit(t *testing.T) {
	_, addr := startSim(t, Config{Faults: Faults{MaxSubsPerHour: 3}})
	c := dial(t, addr, "public")
	for i := 0; i < 3; i++ {
		c.send(`{"op":"subscribe","args":[{"channel":"tickers","instId":"BTC-USDT"}]}`)
		c.next(time.Second, isEvent("subscribe"))
	}
	c.send(`{"id":"4","op":"unsubscribe","args":[{"channel":"tickers","instId":"BTC-USDT"}]}`)
	e := c.next(time.Second, isEvent("error"))
	want := `{"id":"4","event":"error","code":"60014","msg":"Requests too frequent","connId":"` + e.ConnID + `"}`
	if string(e.raw) != want {
		t.Fatalf("got %s\nwant %s", e.raw, want)
	}
}

func TestOversizedRequestCloses1009(t *testing.T) {
	_, addr := startSim(t, Config{})
	c := dial(t, addr, "public")
	c.send(`{"op":"subscribe","args":[{"channel":"tickers","instId":"` + strings.Repeat("X", 70000) + `"}]}`)
	_ = c.ws.SetReadDeadline(time.Now().Add(2 * time.Second))
	_, _, err := c.ws.ReadMessage()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.CloseMessageTooBig {
		t.Fatalf("want close 1009, got %v", err)
	}
}

func TestPingPong(t *testing.T) {
	_, addr := startSim(t, Config{})
	c := dial(t, addr, "public")
	c.send("ping")
	if b := c.read(time.Second); string(b) != "pong" {
		t.Fatalf("got %q", b)
	}

	_, addr2 := startSim(t, Config{Faults: Faults{IgnorePing: true}})
	c2 := dial(t, addr2, "public")
	c2.send("ping")
	_ = c2.ws.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if _, b, err := c2.ws.ReadMessage(); err == nil {
		t.Fatalf("IgnorePing answered %q", b)
	}
}

func TestIdleClose4004(t *testing.T) {
	_, addr := startSim(t, Config{Faults: Faults{IdleClose: 300 * time.Millisecond}})
	c := dial(t, addr, "public")
	// Pings keep it alive (a pong is an outbound frame)...
	for i := 0; i < 4; i++ {
		time.Sleep(150 * time.Millisecond)
		c.send("ping")
		if b := c.read(time.Second); string(b) != "pong" {
			t.Fatalf("got %q", b)
		}
	}
	// ...silence does not.
	start := time.Now()
	_ = c.ws.SetReadDeadline(time.Now().Add(2 * time.Second))
	_, _, err := c.ws.ReadMessage()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != 4004 || ce.Text != "No data received in 30s." {
		t.Fatalf("want close 4004, got %v", err)
	}
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Fatalf("closed after %v, too early", d)
	}
}

func TestDropConnections(t *testing.T) {
	s, addr := startSim(t, Config{Rate: 50})
	c := dial(t, addr, "public")
	c.send(`{"op":"subscribe","args":[{"channel":"tickers","instId":"BTC-USDT"}]}`)
	c.next(time.Second, isPush("tickers"))
	if n := s.Connections(); n != 1 {
		t.Fatalf("Connections() = %d", n)
	}
	s.DropConnections()
	_ = c.ws.SetReadDeadline(time.Now().Add(2 * time.Second))
	for {
		_, _, err := c.ws.ReadMessage()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if errors.As(err, &ce) && ce.Code != websocket.CloseAbnormalClosure {
			t.Fatalf("drop should be abrupt (no close frame), got %v", err)
		}
		break
	}
	waitFor(t, func() bool { return s.Connections() == 0 })
}

func TestDropEvery(t *testing.T) {
	_, addr := startSim(t, Config{Faults: Faults{DropEvery: 100 * time.Millisecond}})
	c := dial(t, addr, "public")
	_ = c.ws.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, _, err := c.ws.ReadMessage(); err == nil || isTimeout(err) {
		t.Fatalf("expected drop, got %v", err)
	}
}

func isTimeout(err error) bool { return err != nil && strings.Contains(err.Error(), "timeout") }

func TestNotice(t *testing.T) {
	for _, periodic := range []bool{false, true} {
		f := Faults{NoticeGrace: 200 * time.Millisecond}
		if periodic {
			f.NoticeEvery = 100 * time.Millisecond
		}
		s, addr := startSim(t, Config{Faults: f})
		c := dial(t, addr, "business")
		if !periodic {
			waitFor(t, func() bool { return s.Connections() == 1 })
			s.SendNotice()
		}
		n := c.next(time.Second, isEvent("notice"))
		start := time.Now()
		if n.Code != "64008" || !isHex8(n.ConnID) || !strings.Contains(n.Msg, "service upgrade") {
			t.Fatalf("notice %s", n.raw)
		}
		_ = c.ws.SetReadDeadline(time.Now().Add(2 * time.Second))
		var err error
		for err == nil {
			_, _, err = c.ws.ReadMessage()
		}
		if d := time.Since(start); d < 150*time.Millisecond || isTimeout(err) {
			t.Fatalf("closed after %v (%v), want ≈ NoticeGrace", d, err)
		}
	}
}

func TestConnectionRateLimit(t *testing.T) {
	_, addr := startSim(t, Config{Faults: Faults{MaxConnPerSec: 2}})
	dial(t, addr, "public")
	dial(t, addr, "public")
	_, resp, err := websocket.DefaultDialer.Dial("ws://"+addr+"/ws/v5/public", nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("third connection within 1s: err=%v resp=%v", err, resp)
	}
	time.Sleep(1100 * time.Millisecond)
	dial(t, addr, "public")
}

func TestRESTInstruments(t *testing.T) {
	_, addr := startSim(t, Config{Instruments: 16})
	for _, it := range []string{"SPOT", "SWAP"} {
		var r struct {
			Code string           `json:"code"`
			Data []map[string]any `json:"data"`
		}
		get(t, "http://"+addr+"/api/v5/public/instruments?instType="+it, &r)
		if r.Code != "0" || len(r.Data) != 16 {
			t.Fatalf("%s: code %s, %d instruments", it, r.Code, len(r.Data))
		}
		first := r.Data[0]
		wantID := map[string]string{"SPOT": "BTC-USDT", "SWAP": "BTC-USDT-SWAP"}[it]
		if first["instId"] != wantID || first["instType"] != it || first["tickSz"] != "0.1" || first["state"] != "live" {
			t.Fatalf("%s first instrument: %v", it, first)
		}
		if it == "SWAP" && (first["ctVal"] != "0.01" || first["instFamily"] != "BTC-USDT" || first["settleCcy"] != "USDT") {
			t.Fatalf("swap fields: %v", first)
		}
		if _, ok := first["instIdCode"].(float64); !ok {
			t.Fatalf("instIdCode not a number: %v", first["instIdCode"])
		}
	}
	var r struct{ Code string }
	if st := get(t, "http://"+addr+"/api/v5/public/instruments", &r); st != 400 || r.Code != "50014" {
		t.Fatalf("missing instType: %d %s", st, r.Code)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	testenv.Eventually(t, 3*time.Second, cond, "condition not reached")
}

func TestStatsMatchClient(t *testing.T) {
	s, addr := startSim(t, Config{Rate: 100, Faults: Faults{MalformedEvery: 7, UnknownEvery: 5}})
	c := dial(t, addr, "public")
	subs := `[{"channel":"books","instId":"BTC-USDT"},{"channel":"trades","instId":"BTC-USDT"},{"channel":"tickers","instId":"ETH-USDT"},{"channel":"funding-rate","instId":"BTC-USDT-SWAP"}]`
	c.send(`{"op":"subscribe","args":` + subs + `}`)
	frames, items := map[string]uint64{}, map[string]uint64{}
	malformed, unknown := 0, 0
	count := func(b []byte) (ev string) {
		var m struct {
			Event string            `json:"event"`
			Arg   map[string]string `json:"arg"`
			Data  []json.RawMessage `json:"data"`
		}
		if json.Unmarshal(b, &m) != nil {
			malformed++
			return ""
		}
		if m.Event != "" {
			return m.Event
		}
		if ch := m.Arg["channel"]; ch == "sim-unknown-channel" {
			unknown++
		} else {
			frames[ch]++
			items[ch] += uint64(len(m.Data))
		}
		return ""
	}
	deadline := time.Now().Add(400 * time.Millisecond)
	for time.Now().Before(deadline) {
		count(c.read(time.Second))
	}
	c.send(`{"op":"unsubscribe","args":` + subs + `}`)
	for acks := 0; acks < 4; {
		if count(c.read(time.Second)) == "unsubscribe" {
			acks++
		}
	}
	st := s.Stats()
	if malformed == 0 || unknown == 0 {
		t.Fatalf("faults not injected: malformed %d unknown %d", malformed, unknown)
	}
	for _, ch := range []string{"books", "trades", "tickers", "funding-rate"} {
		if st.Frames[ch] != frames[ch] || st.Items[ch] != items[ch] || frames[ch] == 0 {
			t.Errorf("%s: stats %d frames/%d items, client %d/%d", ch, st.Frames[ch], st.Items[ch], frames[ch], items[ch])
		}
	}
	if st.Connections != 1 {
		t.Errorf("connections %d", st.Connections)
	}
	var viaHTTP Stats
	get(t, "http://"+addr+"/stats", &viaHTTP)
	if viaHTTP.Frames["books"] != st.Frames["books"] {
		t.Errorf("/stats %v != Stats() %v", viaHTTP.Frames, st.Frames)
	}
}

func TestSlowRead(t *testing.T) {
	_, addr := startSim(t, Config{Faults: Faults{SlowRead: 150 * time.Millisecond}})
	c := dial(t, addr, "public")
	start := time.Now()
	c.send("ping")
	if b := c.read(time.Second); string(b) != "pong" {
		t.Fatalf("got %q", b)
	}
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Fatalf("pong after %v despite SlowRead", d)
	}
}

func TestResubscribeSendsFreshSnapshot(t *testing.T) {
	_, addr := startSim(t, Config{Rate: 50, BookDepth: 5})
	c := dial(t, addr, "public")
	for i := 0; i < 2; i++ {
		c.send(`{"op":"subscribe","args":[{"channel":"books","instId":"BTC-USDT"}]}`)
		c.next(time.Second, isEvent("subscribe"))
		if m := c.next(time.Second, isPush("books")); m.Action != "snapshot" {
			t.Fatalf("subscribe %d: first push %s", i, m.raw)
		}
	}
}
