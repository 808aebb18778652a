package sim

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// startSim starts a simulator on a free port and closes it when the test ends.
func startSim(t *testing.T, cfg Config) (*Server, string) {
	t.Helper()
	if cfg.Faults.MaxConnPerSec == 0 {
		cfg.Faults.MaxConnPerSec = -1
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	addr, err := s.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, addr
}

type client struct {
	t  *testing.T
	ws *websocket.Conn
}

func dial(t *testing.T, addr, path string) *client {
	t.Helper()
	ws, resp, err := websocket.DefaultDialer.Dial("ws://"+addr+"/ws/v5/"+path, nil)
	if err != nil {
		code := 0
		if resp != nil {
			code = resp.StatusCode
		}
		t.Fatalf("dial %s: %v (HTTP %d)", path, err, code)
	}
	t.Cleanup(func() { ws.Close() })
	return &client{t: t, ws: ws}
}

func (c *client) send(s string) {
	c.t.Helper()
	if err := c.ws.WriteMessage(websocket.TextMessage, []byte(s)); err != nil {
		c.t.Fatal(err)
	}
}

// read returns the next frame, or fails after d.
func (c *client) read(d time.Duration) []byte {
	c.t.Helper()
	_ = c.ws.SetReadDeadline(time.Now().Add(d))
	_, b, err := c.ws.ReadMessage()
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return b
}

// msg is a decoded frame.
type msg struct {
	ID     string            `json:"id"`
	Event  string            `json:"event"`
	Code   string            `json:"code"`
	Msg    string            `json:"msg"`
	ConnID string            `json:"connId"`
	Arg    map[string]string `json:"arg"`
	Action string            `json:"action"`
	Data   json.RawMessage   `json:"data"`
	raw    []byte
}

func decode(t *testing.T, b []byte) msg {
	t.Helper()
	var m msg
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	m.raw = b
	return m
}

// next returns the next frame that satisfies keep (skipping the others).
func (c *client) next(d time.Duration, keep func(msg) bool) msg {
	c.t.Helper()
	deadline := time.Now().Add(d)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			c.t.Fatal("timeout waiting for frame")
		}
		b := c.read(left)
		if string(b) == "pong" {
			continue
		}
		m := decode(c.t, b)
		if keep(m) {
			return m
		}
		if m.Event == "error" {
			c.t.Fatalf("unexpected error event: %s", b)
		}
	}
}

func isEvent(ev string) func(msg) bool { return func(m msg) bool { return m.Event == ev } }

func isPush(ch string) func(msg) bool {
	return func(m msg) bool { return m.Event == "" && m.Arg["channel"] == ch }
}

func get(t *testing.T, url string, v any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode
}

func isHex8(s string) bool {
	return len(s) == 8 && strings.Trim(s, "0123456789abcdef") == ""
}
