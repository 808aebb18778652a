// Package ingest is okxtape's OKX v5 WebSocket client: connection pools, keepalive, reconnect, login, REST.
package ingest

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/okxtape/okxtape/ingest/book"
	"github.com/okxtape/okxtape/ingest/decode"
	"github.com/okxtape/okxtape/schema"
)

// Default hosts (OKX docs §1.1). Demo WebSocket is selected by host; demo REST by a header on the same host.
const (
	DefaultWSURL     = "wss://ws.okx.com:8443"
	DemoWSURL        = "wss://wspap.okx.com:8443"
	DefaultRESTURL   = "https://openapi.okx.com"
	DefaultPingAfter = 20 * time.Second
	// DefaultDepthPerConn and DefaultLightPerConn size the connection shards when Config.MaxArgsPerConn is 0:
	// a connection carries at most 30 depth subscriptions (OKX's advice for books/books-l2-tbt/
	// books50-l2-tbt), or 200 light ones (tickers, trades, candles, ...), or a mix in that proportion.
	DefaultDepthPerConn = 30
	DefaultLightPerConn = 200
	// DefaultMaxMessageBytes bounds one message after decompression: OKX's largest pushes (instruments, a
	// 400-level book) are well under 1 MiB.
	DefaultMaxMessageBytes = 16 << 20
	// connWindow is the sliding window of MaxConnPerSec: a second plus a margin for handshake latency jitter.
	connWindow = 1100 * time.Millisecond
)

// Credentials are an OKX API key. They are never logged: String, GoString, Format and LogValue redact them,
// and the login frame is never logged, counted as a frame or emitted as a Raw event.
type Credentials struct {
	APIKey     string
	Secret     string
	Passphrase string
}

// Empty reports whether no key is configured.
func (c Credentials) Empty() bool { return c.APIKey == "" && c.Secret == "" && c.Passphrase == "" }

func (c Credentials) redacted() string {
	if c.Empty() {
		return "ingest.Credentials{}"
	}
	return "ingest.Credentials{REDACTED}"
}

// String redacts.
func (c Credentials) String() string { return c.redacted() }

// GoString redacts (%#v).
func (c Credentials) GoString() string { return c.redacted() }

// Format redacts for every verb, including %+v and %x.
func (c Credentials) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(c.redacted())) }

// LogValue redacts for slog.
func (c Credentials) LogValue() slog.Value { return slog.StringValue(c.redacted()) }

// MarshalJSON redacts, so a Config dumped as JSON carries no secret.
func (c Credentials) MarshalJSON() ([]byte, error) { return []byte(`"` + c.redacted() + `"`), nil }

// BackoffConfig shapes reconnect delays: Initial (default 100 ms) doubling up to Max (default 30 s), each
// randomised by ±Jitter (default 0.5). The delay resets once a connection is up again.
type BackoffConfig struct {
	Initial time.Duration
	Max     time.Duration
	Jitter  float64
}

// Config configures a Client. Zero values take the documented defaults.
type Config struct {
	// WSURL is the WebSocket base without path (default DefaultWSURL, or DemoWSURL when Demo); tests pass
	// "ws://127.0.0.1:PORT". The client appends /ws/v5/public, /ws/v5/business or /ws/v5/private.
	WSURL string
	// RESTURL is the REST base (default DefaultRESTURL) used for book snapshots.
	RESTURL string
	// Demo selects the demo hosts and sends the REST header x-simulated-trading: 1.
	Demo bool
	// Subscriptions are the channel arguments to hold. Each is routed to its endpoint by channel (see
	// EndpointOf) and the args of an endpoint are sharded over connections (see MaxArgsPerConn).
	Subscriptions []decode.Arg
	// Credentials log in private connections, and public connections that carry books-l2-tbt or
	// books50-l2-tbt. Required when a private channel is subscribed.
	Credentials Credentials
	// MaxArgsPerConn, when > 0, is the number of subscriptions per connection for every channel. When 0 a
	// connection holds DefaultDepthPerConn depth args or DefaultLightPerConn light args (or a proportional mix).
	MaxArgsPerConn int
	// MaxConnPerSec caps new connections in any 1.1 s window across all pools (default 3: OKX allows 3 per
	// second per IP; the extra 0.1 s absorbs handshake latency jitter).
	MaxConnPerSec int
	// PingAfter: send the text "ping" when nothing was received for this long (default 20 s; OKX closes after 30).
	PingAfter time.Duration
	// PongTimeout: close and reconnect when nothing (not even "pong") arrives this long after a ping (default 5 s).
	PongTimeout time.Duration
	// Backoff shapes reconnect delays.
	Backoff BackoffConfig
	// ConnectTimeout bounds how long a connection may take to come up the first time (dial, login, subscribe
	// acks) counted from its first dial; Run fails if one never does (default 30 s).
	ConnectTimeout time.Duration
	// AckTimeout bounds the wait for login and subscribe answers on one connection attempt (default 10 s).
	AckTimeout time.Duration
	// MaxMessageBytes is the largest message accepted after decompression (default DefaultMaxMessageBytes).
	// A larger one is skipped without being inflated further, counted as decode error "oversized" and logged
	// once; the connection stays up. The wire (compressed) limit is 16 times this; beyond it the connection
	// fails and is re-established with backoff.
	MaxMessageBytes int64
	// Logger receives operational logs (default slog.Default()).
	Logger *slog.Logger
	// RawFrames emits a *schema.Raw for every push frame (and every frame that could not be classified)
	// before its decoded events. Control frames (acks, errors, login, pong) are never emitted as Raw. Note
	// the zero Config has it off; cmd/record turns it on by default (--raw-frames).
	RawFrames bool
	// Book passes options to the order-book manager; the client sets its Emit and Resync.
	Book book.Options
	// Emit receives every event (usually (*engine.Engine).Emit). It is called from several goroutines, one
	// per connection, and must be safe for that; it must not keep events after returning (schema.Clone).
	Emit func(schema.Event)
}

func (c *Config) setDefaults() error {
	if c.Emit == nil {
		return errors.New("ingest: Config.Emit is required")
	}
	if c.WSURL == "" {
		c.WSURL = DefaultWSURL
		if c.Demo {
			c.WSURL = DemoWSURL
		}
	}
	c.WSURL = strings.TrimRight(c.WSURL, "/")
	if !strings.HasPrefix(c.WSURL, "ws://") && !strings.HasPrefix(c.WSURL, "wss://") {
		return fmt.Errorf("ingest: WSURL %q must start with ws:// or wss://", c.WSURL)
	}
	if c.RESTURL == "" {
		c.RESTURL = DefaultRESTURL
	}
	c.RESTURL = strings.TrimRight(c.RESTURL, "/")
	if c.MaxArgsPerConn < 0 {
		return fmt.Errorf("ingest: MaxArgsPerConn %d < 0", c.MaxArgsPerConn)
	}
	if c.MaxConnPerSec <= 0 {
		c.MaxConnPerSec = 3
	}
	if c.PingAfter <= 0 {
		c.PingAfter = DefaultPingAfter
	}
	if c.PongTimeout <= 0 {
		c.PongTimeout = 5 * time.Second
	}
	if c.Backoff.Initial <= 0 {
		c.Backoff.Initial = 100 * time.Millisecond
	}
	if c.Backoff.Max <= 0 {
		c.Backoff.Max = 30 * time.Second
	}
	if c.Backoff.Jitter <= 0 || c.Backoff.Jitter > 1 {
		c.Backoff.Jitter = 0.5
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = 30 * time.Second
	}
	if c.AckTimeout <= 0 {
		c.AckTimeout = 10 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.MaxMessageBytes <= 0 {
		c.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if len(c.Subscriptions) == 0 {
		return errors.New("ingest: no subscriptions")
	}
	for i, a := range c.Subscriptions {
		if a.Channel == "" {
			return fmt.Errorf("ingest: subscription %d has no channel", i)
		}
		if EndpointOf(a.Channel) == schema.EndpointPrivate && (c.Credentials.APIKey == "" ||
			c.Credentials.Secret == "" || c.Credentials.Passphrase == "") {
			return fmt.Errorf("ingest: private channel %q needs an API key, secret and passphrase", a.Channel)
		}
	}
	return nil
}
