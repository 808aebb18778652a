package okxproto

import (
	"encoding/json"
	"testing"
	"time"
)

func TestParseRequest(t *testing.T) {
	for _, tc := range []struct{ msg, id, op, code string }{
		{`{"id":"a1","op":"subscribe","args":[{"channel":"tickers"}]}`, "a1", "subscribe", ""},
		{`{"op":"login","args":[{}]}`, "", "login", ""},
		{`not json`, "", "", "60012"},
		{`{"id":"a-b","op":"subscribe","args":[{}]}`, "", "", "60012"},
		{`{"id":"012345678901234567890123456789012","op":"subscribe","args":[{}]}`, "", "", "60012"},
		{`{"id":"x","args":[{}]}`, "x", "", "60012"},
		{`{"id":"x","op":"order","args":[{}]}`, "x", "order", "60019"},
		{`{"id":"x","op":"subscribe","args":[]}`, "x", "subscribe", "60012"},
		{`{"id":"x","op":"subscribe","argss":[{}]}`, "x", "subscribe", "60012"},
	} {
		id, op, args, e := ParseRequest([]byte(tc.msg))
		code := ""
		if e != nil {
			code = e.Code
		}
		if id != tc.id || op != tc.op || code != tc.code || (code == "") != (len(args) > 0) {
			t.Errorf("%s: id %q op %q args %d err %v", tc.msg, id, op, len(args), e)
		}
	}
	if _, _, _, e := ParseRequest([]byte(`{"op":`)); e.Msg != `Invalid request: {"op":` {
		t.Errorf("message %q", e.Msg)
	}
}

func TestRequestWindow(t *testing.T) {
	var w RequestWindow
	t0 := time.Unix(1000, 0)
	for i := range 3 {
		if !w.Allow(t0.Add(time.Duration(i)*time.Minute), 3) {
			t.Fatalf("request %d refused", i)
		}
	}
	if w.Allow(t0.Add(59*time.Minute), 3) {
		t.Fatal("4th request within the hour allowed")
	}
	if !w.Allow(t0.Add(time.Hour), 3) { // the first has left the window
		t.Fatal("request after the first left the hour refused")
	}
	if w.Allow(t0.Add(time.Hour+time.Second), 3) {
		t.Fatal("window not full again")
	}
}

func TestLogin(t *testing.T) {
	arg := func(s string) []json.RawMessage { return []json.RawMessage{json.RawMessage(s)} }
	if _, e := ParseLogin(nil); e == nil || e.Code != "60012" {
		t.Errorf("no args: %v", e)
	}
	if _, e := ParseLogin(append(arg(`{}`), arg(`{}`)...)); e == nil || e.Code != "60012" {
		t.Errorf("two args: %v", e)
	}
	for _, tc := range []struct{ arg, code string }{
		{`{"apiKey":"k","passphrase":"p","timestamp":"1700000000","sign":"s"}`, ""},
		{`{"apiKey":"","passphrase":"p","timestamp":"1","sign":"s"}`, "60027"},
		{`{"apiKey":"k","passphrase":"p","timestamp":"1","sign":""}`, "60027"},
		{`{"apiKey":"k","passphrase":"p","timestamp":"NaN","sign":"s"}`, "60004"},
		{`{"apiKey":"k","passphrase":"p","timestamp":"-1","sign":"s"}`, "60004"},
	} {
		l, e := ParseLogin(arg(tc.arg))
		if e != nil {
			t.Fatalf("%s: %v", tc.arg, e)
		}
		ts, e := l.Check()
		if e != nil {
			if e.Code != tc.code {
				t.Errorf("%s: %v, want %s", tc.arg, e, tc.code)
			}
		} else if tc.code != "" || ts != 1700000000 {
			t.Errorf("%s: ts %v, want %s", tc.arg, ts, tc.code)
		}
	}
}
