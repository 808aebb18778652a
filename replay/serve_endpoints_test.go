package replay

import (
	"strconv"
	"strings"
	"testing"

	"github.com/okxtape/okxtape/schema"
)

// TestServePrivateReplaysStoredFramesAfterLogin: /ws/v5/private asks for a login, then replays the stored
// private frames to an instType subscription that selects them.
func TestServePrivateReplaysStoredFramesAfterLogin(t *testing.T) {
	var evs []schema.Stored
	var frames []string
	for i := 0; i < 3; i++ {
		f := `{"arg":{"channel":"orders","instType":"SWAP","uid":"1"},"data":[{"instId":"BTC-USDT-SWAP","ordId":"` +
			string(rune('1'+i)) + `","state":"live","uTime":"` + strconv.FormatInt(day0+int64(i), 10) + `"}]}`
		frames = append(frames, f)
		evs = append(evs, &schema.Raw{Header: schema.Header{Seq: uint64(i + 1), RecvNs: (day0 + int64(i)) * 1e6,
			Channel: "orders", Ts: day0 + int64(i)}, Endpoint: schema.EndpointPrivate, Frame: f})
	}
	evs = append(evs, sessionRow(0, day0-1000, "orders", "BTC-USDT-SWAP"))
	url := serveEvents(t, evs)
	c := dial(t, url+"/ws/v5/private")
	subscribe(t, c, `{"op":"subscribe","args":[{"channel":"orders","instType":"ANY"}]}`)
	if got := read(t, c); !strings.Contains(got, `"code":"60011"`) {
		t.Fatalf("before login: %s", got)
	}
	subscribe(t, c, `{"id":"l1","op":"login","args":[{"apiKey":"k","passphrase":"p","timestamp":"1700000000","sign":"s"}]}`)
	if got := read(t, c); !strings.HasPrefix(got, `{"id":"l1","event":"login","code":"0","msg":"","connId":"`) {
		t.Fatalf("login: %s", got)
	}
	subscribe(t, c, `{"op":"subscribe","args":[{"channel":"orders","instType":"SPOT"},{"channel":"orders","instType":"SWAP"}]}`)
	read(t, c)
	read(t, c)
	for i, want := range frames {
		if got := read(t, c); got != want {
			t.Fatalf("frame %d: %s, want %s", i, got, want)
		}
	}
	subscribe(t, c, "ping")
	if got := read(t, c); got != "pong" {
		t.Fatalf("a frame was sent twice (SPOT and SWAP): %s", got)
	}
}

// TestServeBusinessCandles: candles are served on /ws/v5/business (re-rendered here), refused on /public.
func TestServeBusinessCandles(t *testing.T) {
	var evs []schema.Stored
	for i := 0; i < 3; i++ {
		evs = append(evs, &schema.Candle{Header: schema.Header{Seq: uint64(i + 1), RecvNs: (day0 + int64(i)) * 1e6,
			Channel: "candle1m", InstID: "BTC-USDT", Ts: day0}, Open: 1, High: 2, Low: 0.5, Close: 1 + float64(i),
			Vol: 10, VolCcy: 15, VolCcyQuote: 15})
	}
	evs = append(evs, sessionRow(0, day0-1000, "candle1m", "BTC-USDT"))
	url := serveEvents(t, evs)
	p := dial(t, url+"/ws/v5/public")
	subscribe(t, p, `{"op":"subscribe","args":[{"channel":"candle1m","instId":"BTC-USDT"}]}`)
	if got := read(t, p); !strings.Contains(got, `"code":"64001"`) {
		t.Fatalf("candles on public: %s", got)
	}
	b := dial(t, url+"/ws/v5/business")
	subscribe(t, b, `{"op":"subscribe","args":[{"channel":"candle1m","instId":"BTC-USDT"}]}`)
	if got := read(t, b); !strings.Contains(got, `"event":"subscribe"`) {
		t.Fatalf("ack: %s", got)
	}
	for i, e := range evs[:3] {
		want, _ := AppendPush(nil, e)
		if got := read(t, b); got != string(want) {
			t.Fatalf("candle %d: %s, want %s", i, got, want)
		}
	}
}
