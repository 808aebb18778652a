package main

import (
	"context"
	"log/slog"
	"slices"
	"sync"

	"github.com/okxtape/okxtape/engine"
	"github.com/okxtape/okxtape/ingest"
	"github.com/okxtape/okxtape/ingest/decode"
	"github.com/okxtape/okxtape/schema"
	registry "github.com/okxtape/okxtape/schema/channels"
)

// listings follows the instruments channel in --all-instruments mode: an instrument of --inst-type that
// becomes live is subscribed on every per-instrument channel of --channels, one that expires is
// unsubscribed, without a restart (okx-v5-websocket.md §7, "All instruments" recording strategy).
//
// The engine handler only notes the change; a goroutine applies it to the client, so the ingest path never
// waits for the network.
type listings struct {
	instType string
	perInst  []string // channels subscribed per instrument id
	log      *slog.Logger

	mu       sync.Mutex
	live     map[string]bool
	listed   uint64
	delisted uint64
	queue    chan listingChange
}

type listingChange struct {
	instID string
	live   bool
}

// listingQueue bounds the changes waiting for the client; OKX announces listings a few at a time.
const listingQueue = 1024

// instrumentsChannel is the channel --all-instruments follows.
const instrumentsChannel = "instruments"

// withListings returns the channels record subscribes: names, plus the instruments channel with
// --all-instruments.
func withListings(names []string, all bool) []string {
	if !all || slices.Contains(names, instrumentsChannel) {
		return names
	}
	return append(slices.Clip(names), instrumentsChannel)
}

// followListings sets --all-instruments up: the instruments channel of instType is subscribed too (unless
// --channels has it), and the returned listings tracks the live instruments from insts on.
func followListings(names, insts []string, subs []decode.Arg, instType string, log *slog.Logger) ([]decode.Arg, *listings) {
	var perInst []string
	for _, n := range names {
		if e := registry.Lookup(n); e != nil && e.Selector == registry.ByInstID {
			perInst = append(perInst, n)
		}
	}
	if !slices.Contains(names, instrumentsChannel) {
		subs = append(subs, decode.Arg{Channel: instrumentsChannel, InstType: instType})
	}
	return subs, newListings(instType, perInst, insts, log)
}

func newListings(instType string, perInst, initial []string, log *slog.Logger) *listings {
	l := &listings{instType: instType, perInst: perInst, log: log, live: map[string]bool{},
		queue: make(chan listingChange, listingQueue)}
	for _, id := range initial {
		l.live[id] = true
	}
	return l
}

// attach registers the engine handler.
func (l *listings) attach(e *engine.Engine) {
	engine.On(e, "listings", func(in *schema.Instrument) {
		if in.InstType != l.instType || in.InstID == "" {
			return
		}
		var live bool
		switch in.State {
		case "live":
			live = true
		case "expired":
		default: // preopen, suspend, ...: no change
			return
		}
		l.mu.Lock()
		changed := l.live[in.InstID] != live
		if changed {
			if live {
				l.live[in.InstID] = true
				l.listed++
			} else {
				delete(l.live, in.InstID)
				l.delisted++
			}
		}
		l.mu.Unlock()
		if !changed {
			return
		}
		select {
		case l.queue <- listingChange{instID: in.InstID, live: live}:
		default:
			l.log.Error("listing changes are not applied fast enough; dropped", "instId", in.InstID, "live", live)
		}
	})
}

// run applies the changes to the client until ctx ends.
func (l *listings) run(ctx context.Context, c *ingest.Client) {
	for {
		select {
		case <-ctx.Done():
			return
		case ch := <-l.queue:
			args := make([]decode.Arg, len(l.perInst))
			for i, name := range l.perInst {
				args[i] = decode.Arg{Channel: name, InstID: ch.instID}
			}
			var err error
			if ch.live {
				l.log.Info("instrument listed; subscribing", "instId", ch.instID, "channels", len(args))
				err = c.Add(args)
			} else {
				l.log.Info("instrument delisted; unsubscribing", "instId", ch.instID, "channels", len(args))
				err = c.Remove(args)
			}
			if err != nil {
				l.log.Warn("updating subscriptions", "instId", ch.instID, "err", err)
			}
		}
	}
}

// summary is the exit summary's "listings" object.
func (l *listings) summary() map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	return map[string]any{"inst_type": l.instType, "live": len(l.live), "listed": l.listed, "delisted": l.delisted}
}
