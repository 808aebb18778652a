package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/okxtape/okxtape/ingest/book"
	"github.com/okxtape/okxtape/ingest/decode"
	"github.com/okxtape/okxtape/schema"
)

// Client holds OKX WebSocket subscriptions live and emits their events.
//
// Lifecycle: New validates the config and plans the connections; Run (once) connects them all and blocks until
// its context ends. Events reach Config.Emit from one goroutine per connection; book messages go through the
// order-book manager first, which emits validated Book, Quote and Gap events. Stats may be called at any
// time. Each connection slot has its own book.Manager (OKX's request budget is per connection); the Client
// is their book.Resyncer.
type Client struct {
	cfg         Config
	log         *slog.Logger
	scrub       scrubber
	connLimiter *connLimiter
	http        *http.Client
	slots       []*slot
	subMu       sync.RWMutex     // guards byInst and byInstArg (Add and Remove change them while running)
	byInst      map[string]*slot // channel|instId -> slot
	byInstArg   map[string]decode.Arg

	connWG  sync.WaitGroup // every connection goroutine, so Run returns only after the last emit
	ids     atomic.Uint64
	running atomic.Bool
	fatal   chan error
	logged  sync.Map

	frames, events, decodeErrs, exchErrors, handoverDups counters
	reconnects, handovers, pings                         atomic.Uint64
	upConns                                              atomic.Int64
	opened                                               atomic.Uint64 // connections that came up: first, reconnects, handovers
	upAtStop                                             atomic.Int64  // connections up when the stop began, plus 1 (0: running)
	refusedSlots                                         atomic.Int64  // slots whose every subscription OKX refused
}

var _ book.Resyncer = (*Client)(nil)

// New validates cfg, applies defaults and plans the connection shards. It does not connect.
func New(cfg Config) (*Client, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	c := &Client{
		cfg: cfg, log: cfg.Logger, scrub: newScrubber(cfg.Credentials),
		connLimiter: newConnLimiter(cfg.MaxConnPerSec, connWindow),
		http:        &http.Client{Timeout: 15 * time.Second},
		byInst:      map[string]*slot{}, byInstArg: map[string]decode.Arg{},
		fatal: make(chan error, 1),
	}
	shards := shardArgs(cfg.Subscriptions, cfg.MaxArgsPerConn)
	for _, ep := range []string{schema.EndpointPublic, schema.EndpointBusiness, schema.EndpointPrivate} {
		for i, args := range shards[ep] {
			s := newSlot(c, ep, i, args)
			c.slots = append(c.slots, s)
			for _, a := range args {
				k := a.Channel + "|" + a.InstID
				if _, dup := c.byInst[k]; !dup {
					c.byInst[k] = s
					c.byInstArg[k] = a
				}
			}
		}
	}
	for _, s := range c.slots {
		bo := cfg.Book
		bo.Emit, bo.Resync, bo.Conn = cfg.Emit, c, s.label
		if bo.Logger == nil {
			bo.Logger = cfg.Logger
		}
		if bo.RequestsPerHour == 0 {
			bo.RequestsPerHour = 400 // leave room in OKX's 480/h for (re)subscribing the whole shard
		}
		s.books = book.NewManager(bo)
	}
	return c, nil
}

// Run connects every shard and keeps them up until ctx ends; it then closes them (letting frames in flight
// drain briefly) and returns nil. It returns an error when a connection could not be established within
// ConnectTimeout of its first dial, when ctx ended before a shard ever connected (ErrNeverConnected), when
// OKX refused every subscription (ErrAllRefused), or when OKX rejects the login (wrapping
// ErrLoginRejected). Run may be called once.
func (c *Client) Run(ctx context.Context) error {
	if !c.running.CompareAndSwap(false, true) {
		return errors.New("ingest: Run called twice")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for _, s := range c.slots {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.run(ctx)
		}()
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-c.fatal:
	}
	c.upAtStop.Store(c.upConns.Load() + 1) // +1: set (0 connections up is stored as 1)
	cancel()
	wg.Wait()
	c.connWG.Wait() // connections handed over shortly before the stop may still be draining
	for _, s := range c.slots {
		s.books.Close()
	}
	if err == nil {
		err = c.neverConnected()
	}
	return err
}

// fail reports a fatal error: Run stops everything and returns the first one.
func (c *Client) fail(err error) {
	select {
	case c.fatal <- err:
	default:
	}
}

// Stats returns a snapshot of the client's counters, with the book managers' counters summed in Books.
func (c *Client) Stats() Stats {
	var books book.Stats
	for _, s := range c.slots {
		books.Add(s.books.Stats())
	}
	return Stats{Books: books,
		Frames: c.frames.snapshot(), Events: c.events.snapshot(), DecodeErrors: c.decodeErrs.snapshot(),
		ExchangeErrors: c.exchErrors.snapshot(), Reconnects: c.reconnects.Load(),
		Handovers: c.handovers.Load(), HandoverDuplicates: c.handoverDups.snapshot(), Pings: c.pings.Load(), Connections: c.connections(),
		ConnectionsOpened: c.opened.Load(),
		Shards:            len(c.slots),
	}
}

func (c *Client) nextID() string { return "r" + strconv.FormatUint(c.ids.Add(1), 10) }

func (c *Client) chanCounters(endpoint, channel string) *chanCounters {
	return &chanCounters{
		frames: metricFrames.WithLabelValues(endpoint, channel), events: metricEvents.WithLabelValues(channel),
		statsFr: c.frames.get(channel), statsEv: c.events.get(channel), endpoint: endpoint,
	}
}

// Resubscribe implements book.Resyncer: it sends unsubscribe then subscribe for (channel, instID) on the
// connection that holds it, so OKX sends a fresh snapshot. Both requests count against that connection's
// hourly budget (ErrRequestBudget when spent). While the connection is down it returns an error; the
// reconnect resubscribes everything anyway. Safe for concurrent use; it does not block on the book manager.
func (c *Client) Resubscribe(channel, instID string) error {
	k := channel + "|" + instID
	c.subMu.RLock()
	s, a := c.byInst[k], c.byInstArg[k]
	c.subMu.RUnlock()
	if s == nil {
		return fmt.Errorf("ingest: resubscribe %s %s: not subscribed", channel, instID)
	}
	cn := s.current()
	if cn == nil || cn.isClosing() {
		return fmt.Errorf("ingest: resubscribe %s %s on %s: %w", channel, instID, s.label, errNotConnected)
	}
	arg := []decode.Arg{a}
	if err := cn.send("unsubscribe", arg); err != nil {
		return err
	}
	return cn.send("subscribe", arg)
}

// Snapshot implements book.Resyncer: it fetches GET /api/v5/market/books?instId=&sz=400 from RESTURL.
func (c *Client) Snapshot(ctx context.Context, instID string) (*schema.Book, *decode.BookRaw, error) {
	body, err := restGet(ctx, c.http, c.cfg.RESTURL, "/api/v5/market/books",
		map[string]string{"instId": instID, "sz": "400"}, c.cfg.Demo)
	if err != nil {
		return nil, nil, err
	}
	b, raw, err := decode.ParseRESTBooks(body)
	if err != nil {
		return nil, nil, fmt.Errorf("ingest: books snapshot %s: %w", instID, err)
	}
	return b, raw, nil
}

// connections is the number of connections up, or once Run began stopping, the number up at that moment
// (so the exit summary says how many were recording, not 0).
func (c *Client) connections() int {
	if n := c.upAtStop.Load(); n > 0 {
		return int(n - 1)
	}
	return int(c.upConns.Load())
}
