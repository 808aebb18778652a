package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/okxtape/okxtape/ingest/decode"
	"github.com/okxtape/okxtape/schema"
)

func TestSign(t *testing.T) {
	for _, tc := range []struct{ secret, ts, want string }{
		{"22582BD0CFF14C41EDBF1AB98506286D", "1538054050", "+LdIr8lkkvhr5hoA3g9TMC0+uQJ849ftAcocA/ouu4M="},
		{"22582BD0CFF14C41EDBF1AB98506286D", "1704876947", "5/36BgGV6m/6pmdc20zdqk0mzF5ZalmzzPD2fo3wavU="},
	} {
		if got := Sign(tc.secret, tc.ts); got != tc.want {
			t.Errorf("Sign(%s) = %s, want %s", tc.ts, got, tc.want)
		}
	}
}

func TestLoginRequest(t *testing.T) {
	cr := Credentials{APIKey: "key-1", Secret: "22582BD0CFF14C41EDBF1AB98506286D", Passphrase: "pp"}
	b := loginRequest(cr, time.Unix(1538054050, 0))
	want := `{"op":"login","args":[{"apiKey":"key-1","passphrase":"pp","timestamp":"1538054050",` +
		`"sign":"+LdIr8lkkvhr5hoA3g9TMC0+uQJ849ftAcocA/ouu4M="}]}`
	if string(b) != want {
		t.Fatalf("login request\n got %s\nwant %s", b, want)
	}
}

func TestCredentialsRedacted(t *testing.T) {
	cr := Credentials{APIKey: "APIKEY123", Secret: "SECRET456", Passphrase: "PASS789"}
	cfg := Config{Credentials: cr}
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	log.Info("x", "cred", cr, "cfg", cfg)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("y", "cred", cr)
	js, _ := json.Marshal(cfg)
	out := fmt.Sprintf("%v %+v %#v %s %q %x", cr, cr, cr, cr, cr, cr) + fmt.Sprintf("%v %+v %#v", cfg, cfg, cfg) +
		buf.String() + string(js)
	for _, s := range []string{"APIKEY123", "SECRET456", "PASS789"} {
		if strings.Contains(out, s) {
			t.Fatalf("secret %q leaked: %s", s, out)
		}
	}
	if !strings.Contains(out, "REDACTED") {
		t.Fatal("no redaction marker")
	}
}

func TestEndpointOf(t *testing.T) {
	for ch, want := range map[string]string{
		"tickers": schema.EndpointPublic, "books": schema.EndpointPublic, "trades": schema.EndpointPublic,
		"books-l2-tbt": schema.EndpointPublic, "mark-price": schema.EndpointPublic,
		"candle1m": schema.EndpointBusiness, "candle1Dutc": schema.EndpointBusiness,
		"mark-price-candle1m": schema.EndpointBusiness, "index-candle1H": schema.EndpointBusiness,
		"trades-all": schema.EndpointBusiness, "orders": schema.EndpointPrivate, "fills": schema.EndpointPrivate,
		"account": schema.EndpointPrivate, "positions": schema.EndpointPrivate,
		"balance_and_position": schema.EndpointPrivate,
	} {
		if got := EndpointOf(ch); got != want {
			t.Errorf("EndpointOf(%s) = %s, want %s", ch, got, want)
		}
	}
}

func args(channel string, n int) []decode.Arg {
	out := make([]decode.Arg, n)
	for i := range out {
		out[i] = decode.Arg{Channel: channel, InstID: fmt.Sprintf("I%03d-USDT", i)}
	}
	return out
}

func TestShardArgs(t *testing.T) {
	var in []decode.Arg
	in = append(in, args("books", 45)...)
	in = append(in, args("tickers", 250)...)
	in = append(in, args("candle1m", 3)...)
	in = append(in, args("books", 2)...) // duplicates
	in = append(in, decode.Arg{Channel: "orders", InstType: "ANY"})
	got := shardArgs(in, 0)
	count := func(ep string) (n int, sizes []int) {
		for _, s := range got[ep] {
			n += len(s)
			sizes = append(sizes, len(s))
		}
		return
	}
	if n, sizes := count(schema.EndpointPublic); n != 295 || len(sizes) != 3 || sizes[0] != 30 {
		t.Fatalf("public: %d args in shards %v", n, sizes)
	}
	// shard 2: 15 books (half a connection) + 100 tickers; shard 3: the other 150 tickers
	if _, sizes := count(schema.EndpointPublic); sizes[1] != 115 || sizes[2] != 150 {
		t.Fatalf("public shard sizes %v", sizes)
	}
	if n, sizes := count(schema.EndpointBusiness); n != 3 || len(sizes) != 1 {
		t.Fatalf("business: %v", sizes)
	}
	if n, _ := count(schema.EndpointPrivate); n != 1 {
		t.Fatalf("private: %d", n)
	}
	fixed := shardArgs(args("tickers", 25), 10)
	if s := fixed[schema.EndpointPublic]; len(s) != 3 || len(s[2]) != 5 {
		t.Fatalf("MaxArgsPerConn 10: %d shards", len(s))
	}
	l2 := shardArgs(append(args("books-l2-tbt", 2), args("tickers", 2)...), 0)
	if s := l2[schema.EndpointPublic]; len(s) != 2 || s[0][0].Channel != "tickers" && s[1][0].Channel != "tickers" {
		t.Fatalf("login args not isolated: %v", s)
	}
}

func TestSplitRequests(t *testing.T) {
	in := args("tickers", 5000)
	batches := splitRequests(in, maxRequestBytes)
	if len(batches) < 2 {
		t.Fatalf("%d batches", len(batches))
	}
	n := 0
	for _, b := range batches {
		n += len(b)
		if sz := len(encodeRequest("r123456789", "unsubscribe", b)); sz > 64*1024 {
			t.Fatalf("request of %d bytes", sz)
		}
	}
	if n != len(in) {
		t.Fatalf("%d args after split, want %d", n, len(in))
	}
	if got := splitRequests(in[:3], maxRequestBytes); len(got) != 1 || len(got[0]) != 3 {
		t.Fatalf("small split: %v", got)
	}
	if got := string(encodeRequest("r1", "subscribe", []decode.Arg{{Channel: "orders", InstType: "ANY"}})); got !=
		`{"id":"r1","op":"subscribe","args":[{"channel":"orders","instType":"ANY"}]}` {
		t.Fatal(got)
	}
}

func TestConnLimiter(t *testing.T) {
	l := newConnLimiter(3, time.Second)
	now := time.Now()
	var at []time.Duration
	for i := 0; i < 7; i++ {
		at = append(at, l.reserve(now))
	}
	want := []time.Duration{0, 0, 0, time.Second, time.Second, time.Second, 2 * time.Second}
	for i := range want {
		if at[i] != want[i] {
			t.Fatalf("admissions %v, want %v", at, want)
		}
	}
	if d := l.reserve(now.Add(5 * time.Second)); d != 0 {
		t.Fatalf("after the window: %v", d)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for i := 0; i < 5; i++ {
		_ = l.Wait(ctx)
	}
	if err := l.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait on cancelled ctx: %v", err)
	}
}

func TestRequestBudget(t *testing.T) {
	r := newRequestBudget(480, time.Hour)
	t0 := time.Now()
	for i := 0; i < 480; i++ {
		if err := r.take(t0.Add(time.Duration(i) * time.Second)); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	if err := r.take(t0.Add(30 * time.Minute)); !errors.Is(err, ErrRequestBudget) {
		t.Fatalf("481st request: %v", err)
	}
	if err := r.take(t0.Add(time.Hour + 500*time.Millisecond)); err != nil {
		t.Fatalf("after the first expired: %v", err)
	}
	if n := r.used(t0.Add(time.Hour + time.Second)); n != 479 {
		t.Fatalf("used %d", n)
	}
}

func TestLoginFailure(t *testing.T) {
	for _, tc := range []struct {
		code  string
		fatal bool
		want  string
	}{
		{"60005", true, "OKX rejected the API key (60005): check OKX_API_KEY"},
		{"60032", true, "API key"},
		{"60007", true, "OKX_API_SECRET"},
		{"60024", true, "OKX_API_PASSPHRASE"},
		{"60009", true, "rejected the login"},
		{"60006", false, "clock"},
		{"60004", false, "clock"},
		{"63999", false, "internal"},
		{"60014", false, "rate"},
	} {
		le := loginFailure("private", &OKXError{Code: tc.code, Msg: "m"})
		if le.Fatal != tc.fatal || errors.Is(le, ErrLoginRejected) != tc.fatal || !strings.Contains(le.Error(), tc.want) {
			t.Errorf("%s: fatal %v, %q", tc.code, le.Fatal, le.Error())
		}
		var oe *OKXError
		if !errors.As(le, &oe) || oe.Code != tc.code {
			t.Errorf("%s: OKXError not wrapped", tc.code)
		}
	}
}

func TestScrubber(t *testing.T) {
	s := newScrubber(Credentials{APIKey: "abcdKEY", Secret: "sEcReT99", Passphrase: "pass-phrase"})
	if got := s.scrub("Invalid apiKey abcdKEY"); strings.Contains(got, "abcdKEY") {
		t.Fatal(got)
	}
	if got := s.scrub(`Invalid request: {"op":"login","args":[{"sign":"x"}]}`); strings.Contains(got, "sign") {
		t.Fatal(got)
	}
	if !s.containsSecret([]byte(`{"x":"pass-phrase"}`)) || s.containsSecret([]byte(`{"arg":{}}`)) {
		t.Fatal("containsSecret")
	}
}

func TestConfigDefaults(t *testing.T) {
	emit := func(schema.Event) {}
	sub := []decode.Arg{{Channel: "tickers", InstID: "BTC-USDT"}}
	c := Config{Emit: emit, Subscriptions: sub, Demo: true}
	if err := c.setDefaults(); err != nil {
		t.Fatal(err)
	}
	if c.WSURL != DemoWSURL || c.PingAfter != 20*time.Second || c.PongTimeout != 5*time.Second ||
		c.Backoff.Initial != 100*time.Millisecond || c.Backoff.Max != 30*time.Second || c.MaxConnPerSec != 3 ||
		c.RESTURL != DefaultRESTURL {
		t.Fatalf("defaults: %+v", c)
	}
	for name, bad := range map[string]Config{
		"no emit":    {Subscriptions: sub},
		"no subs":    {Emit: emit},
		"bad url":    {Emit: emit, Subscriptions: sub, WSURL: "http://x"},
		"no channel": {Emit: emit, Subscriptions: []decode.Arg{{InstID: "X"}}},
		"no creds":   {Emit: emit, Subscriptions: []decode.Arg{{Channel: "orders", InstType: "ANY"}}},
	} {
		if err := bad.setDefaults(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
