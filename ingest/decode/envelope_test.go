package decode

import (
	"errors"
	"testing"
)

func TestParseEnvelope(t *testing.T) {
	tests := []struct {
		name  string
		frame string
		want  Envelope // dataStart/dataEnd ignored
	}{
		{"pong", "pong", Envelope{Kind: FramePong}},
		{"pong with newline", "pong\n", Envelope{Kind: FramePong}},
		{"subscribe ack", `{"id":"1512","event":"subscribe","arg":{"channel":"tickers","instId":"BTC-USDT"},"connId":"a4d3ae55"}`,
			Envelope{Kind: FrameEvent, Event: "subscribe", ID: "1512", ConnID: "a4d3ae55",
				Arg: Arg{Channel: "tickers", InstID: "BTC-USDT"}}},
		{"unsubscribe ack", `{"id":"1512","event":"unsubscribe","arg":{"channel":"positions","instType":"ANY","instFamily":"BTC-USD"},"connId":"d0b44253"}`,
			Envelope{Kind: FrameEvent, Event: "unsubscribe", ID: "1512", ConnID: "d0b44253",
				Arg: Arg{Channel: "positions", InstType: "ANY", InstFamily: "BTC-USD"}}},
		{"error 60012 with escaped msg", `{"id":"1512","event":"error","code":"60012","msg":"Invalid request: {\"op\": \"subscribe\", \"argss\":[...]}","connId":"a4d3ae55"}`,
			Envelope{Kind: FrameEvent, Event: "error", ID: "1512", Code: "60012",
				Msg: `Invalid request: {"op": "subscribe", "argss":[...]}`, ConnID: "a4d3ae55"}},
		{"error 60018", `{"event":"error","msg":"Wrong URL or channel:index-tickers, instId:NEAR-USDT-SWAP doesn't exist. Please use the correct URL, channel and parameters referring to API document.","code":"60018","connId":"94d38802"}`,
			Envelope{Kind: FrameEvent, Event: "error", Code: "60018", ConnID: "94d38802",
				Msg: "Wrong URL or channel:index-tickers, instId:NEAR-USDT-SWAP doesn't exist. Please use the correct URL, channel and parameters referring to API document."}},
		{"error 64001 numeric code", `{"event":"error","code":64001,"msg":"channel candle1m doesn't exist on this url, please use \/ws\/v5\/business","connId":"1"}`,
			Envelope{Kind: FrameEvent, Event: "error", Code: "64001", ConnID: "1",
				Msg: "channel candle1m doesn't exist on this url, please use /ws/v5/business"}},
		{"unicode escape", `{"event":"error","code":"60013","msg":"bad \u00e9 \ud83d\ude00 arg"}`,
			Envelope{Kind: FrameEvent, Event: "error", Code: "60013", Msg: "bad é 😀 arg"}},
		{"login", `{"event":"login","code":"0","msg":"","connId":"a4d3ae55"}`,
			Envelope{Kind: FrameEvent, Event: "login", Code: "0", ConnID: "a4d3ae55"}},
		{"notice", `{"event":"notice","code":"64008","msg":"The connection will soon be closed for a service upgrade. Please reconnect.","connId":"a4d3ae55"}`,
			Envelope{Kind: FrameEvent, Event: "notice", Code: "64008", ConnID: "a4d3ae55",
				Msg: "The connection will soon be closed for a service upgrade. Please reconnect."}},
		{"channel-conn-count", `{"event":"channel-conn-count","channel":"orders","connCount":"2","connId":"abcd1234"}`,
			Envelope{Kind: FrameEvent, Event: "channel-conn-count", ConnCount: "2", ConnID: "abcd1234",
				Arg: Arg{Channel: "orders"}}},
		{"books push", `{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"snapshot","data":[{"asks":[],"bids":[]}]}`,
			Envelope{Kind: FramePush, Action: "snapshot", Arg: Arg{Channel: "books", InstID: "BTC-USDT"}}},
		{"action after data", ` { "data" : [ ] , "action" : "update" , "arg" : { "channel" : "books" } } `,
			Envelope{Kind: FramePush, Action: "update", Arg: Arg{Channel: "books"}}},
		{"account push", `{"arg":{"channel":"account","uid":"44584"},"eventType":"snapshot","curPage":1,"lastPage":true,"data":[{}]}`,
			Envelope{Kind: FramePush, EventType: "snapshot", CurPage: 1, LastPage: true,
				Arg: Arg{Channel: "account", UID: "44584"}}},
		{"orders push", `{"arg":{"channel":"orders","instType":"SPOT","instId":"BTC-USDT","uid":"614488474791936","x":[1,{"y":"]"}]},"data":[]}`,
			Envelope{Kind: FramePush, Arg: Arg{Channel: "orders", InstType: "SPOT", InstID: "BTC-USDT", UID: "614488474791936"}}},
		{"unknown fields", `{"arg":{"channel":"tickers","ccy":"BTC"},"foo":{"a":[1,2,{"b":null}]},"bar":-1.5e3,"baz":true,"data":[]}`,
			Envelope{Kind: FramePush, Arg: Arg{Channel: "tickers", Ccy: "BTC"}}},
	}
	dec := NewDecoder()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, parse := range []func([]byte, *Envelope) error{ParseEnvelope, dec.Envelope} {
				var env Envelope
				if err := parse([]byte(tc.frame), &env); err != nil {
					t.Fatalf("error: %v", err)
				}
				env.dataStart, env.dataEnd = 0, 0
				if env != tc.want {
					t.Fatalf("got  %+v\nwant %+v", env, tc.want)
				}
			}
		})
	}
}

func TestParseEnvelopeMalformed(t *testing.T) {
	for _, frame := range []string{
		``, `ping`, `pongx`, `{`, `}`, `[]`, `null`, `{"arg":{"channel":"x"}}`, `{"data":[]}`,
		`{"arg":{"channel":"x"},"data":{}}`, `{"arg":{"channel":"x"},"data":"[]"}`, `{"event":"error",}`,
		`{"event":"error"} x`, `{"event":"error""code":"1"}`, `{"event" "error"}`, `{"event":"err`,
		`{"arg":{"channel":"x"},"data":[`, `{"arg":"x","data":[]}`, `{"event":"error","msg":"\x"}`,
		`{"event":"error","msg":"\u12"}`, `{"event":"error","code":{}}`, `{,"event":"x"}`, `{"event":"x",}`,
	} {
		var env Envelope
		err := ParseEnvelope([]byte(frame), &env)
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: got %v, want ErrMalformed", frame, err)
		}
		if env.Kind != FrameInvalid {
			t.Errorf("%q: kind %v", frame, env.Kind)
		}
	}
}

func TestEnvelopeInternsAndDoesNotAllocate(t *testing.T) {
	frame := []byte(`{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[{"asks":[["1","2","0","3"]],"bids":[]}]}`)
	dec := NewDecoder()
	var env Envelope
	if err := dec.Envelope(frame, &env); err != nil {
		t.Fatal(err)
	}
	first := env.Arg.InstID
	allocs := testing.AllocsPerRun(100, func() {
		if err := dec.Envelope(frame, &env); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("Envelope allocates %v times per push", allocs)
	}
	if env.Arg.InstID != "BTC-USDT" || env.Action != "update" || env.Kind != FramePush {
		t.Fatalf("bad envelope %+v", env)
	}
	if unsafeData(first) != unsafeData(env.Arg.InstID) {
		t.Fatal("instId not interned")
	}
}
