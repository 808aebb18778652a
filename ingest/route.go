package ingest

import (
	"encoding/json"
	"strings"

	"github.com/okxtape/okxtape/ingest/decode"
	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/schema/channels"
)

// Endpoint paths.
const (
	pathPublic   = "/ws/v5/public"
	pathBusiness = "/ws/v5/business"
	pathPrivate  = "/ws/v5/private"
)

// maxRequestBytes is OKX's limit on one subscribe/unsubscribe request (64 KB), less a margin.
const maxRequestBytes = 64*1024 - 512

// EndpointOf returns the endpoint (schema.EndpointPublic, EndpointBusiness or EndpointPrivate) that serves a
// channel, from the channel registry; channels it does not know go to public (OKX answers with an error).
func EndpointOf(channel string) string {
	if e := channels.Lookup(channel); e != nil {
		return e.Endpoint
	}
	return schema.EndpointPublic
}

func endpointPath(endpoint string) string {
	switch endpoint {
	case schema.EndpointBusiness:
		return pathBusiness
	case schema.EndpointPrivate:
		return pathPrivate
	}
	return pathPublic
}

// isDepth reports order-book channels with a seqId chain: their pushes go through the book manager's chain
// checks and OKX advises to keep them below 30 per connection.
func isDepth(channel string) bool {
	e := channels.Lookup(channel)
	return e != nil && e.IsDepth()
}

// isBookChannel reports every channel whose events are *schema.Book (reset on disconnect).
func isBookChannel(channel string) bool {
	e := channels.Lookup(channel)
	return e != nil && e.Book != nil
}

// needsLogin reports public channels that require a logged-in connection.
func needsLogin(channel string) bool {
	e := channels.Lookup(channel)
	return e != nil && e.Login && e.Endpoint != schema.EndpointPrivate
}

// argKey identifies a subscription; uid (push-only) is left out so acks and pushes map to the same key.
func argKey(a decode.Arg) string {
	return a.Channel + "|" + a.InstID + "|" + a.InstType + "|" + a.InstFamily + "|" + a.Ccy
}

func argString(a decode.Arg) string {
	s := a.Channel
	for _, v := range [...]string{a.InstID, a.InstType, a.InstFamily, a.Ccy} {
		if v != "" {
			s += ":" + v
		}
	}
	return s
}

type wireArg struct {
	Channel    string `json:"channel"`
	InstID     string `json:"instId,omitempty"`
	InstType   string `json:"instType,omitempty"`
	InstFamily string `json:"instFamily,omitempty"`
	Ccy        string `json:"ccy,omitempty"`
}

type wireRequest struct {
	ID   string    `json:"id,omitempty"`
	Op   string    `json:"op"`
	Args []wireArg `json:"args"`
}

func toWire(a decode.Arg) wireArg {
	return wireArg{Channel: a.Channel, InstID: a.InstID, InstType: a.InstType, InstFamily: a.InstFamily, Ccy: a.Ccy}
}

// encodeRequest returns the JSON of one subscribe/unsubscribe request.
func encodeRequest(id, op string, args []decode.Arg) []byte {
	r := wireRequest{ID: id, Op: op, Args: make([]wireArg, len(args))}
	for i, a := range args {
		r.Args[i] = toWire(a)
	}
	b, _ := json.Marshal(r) // plain strings: cannot fail
	return b
}

// splitRequests splits args into consecutive batches whose encoded request stays within limit bytes.
func splitRequests(args []decode.Arg, limit int) [][]decode.Arg {
	const overhead = len(`{"id":"","op":"unsubscribe","args":[]}`) + 32
	var out [][]decode.Arg
	start, size := 0, overhead
	for i, a := range args {
		b, _ := json.Marshal(toWire(a))
		n := len(b) + 1
		if i > start && size+n > limit {
			out = append(out, args[start:i])
			start, size = i, overhead
		}
		size += n
	}
	if start < len(args) {
		out = append(out, args[start:])
	}
	return out
}

// shardArgs groups args by endpoint and packs each endpoint's args into connection shards, keeping the input
// order. With maxPerConn > 0 every shard holds up to maxPerConn args. Otherwise shards are weighted: a depth
// arg uses 1/DefaultDepthPerConn of a connection and a light arg 1/DefaultLightPerConn. Duplicate args are
// dropped. Public args that need login are kept on their own shards so only those connections log in.
func shardArgs(args []decode.Arg, maxPerConn int) map[string][][]decode.Arg {
	const capacity = DefaultDepthPerConn * DefaultLightPerConn
	type group struct {
		shards [][]decode.Arg
		used   int
	}
	groups := map[string]*group{}
	seen := map[string]bool{}
	var order []string
	for _, a := range args {
		k := argKey(a)
		if seen[k] {
			continue
		}
		seen[k] = true
		ep := EndpointOf(a.Channel)
		gk := ep
		if ep == schema.EndpointPublic && needsLogin(a.Channel) {
			gk = ep + "+login"
		}
		g := groups[gk]
		if g == nil {
			g = &group{}
			groups[gk] = g
			order = append(order, gk)
		}
		w := capacity / DefaultLightPerConn
		if isDepth(a.Channel) {
			w = capacity / DefaultDepthPerConn
		}
		if maxPerConn > 0 {
			w = 1
		}
		limit := capacity
		if maxPerConn > 0 {
			limit = maxPerConn
		}
		n := len(g.shards)
		if n == 0 || g.used+w > limit {
			g.shards = append(g.shards, nil)
			g.used = 0
			n++
		}
		g.shards[n-1] = append(g.shards[n-1], a)
		g.used += w
	}
	out := map[string][][]decode.Arg{}
	for _, gk := range order {
		ep, _, _ := strings.Cut(gk, "+")
		out[ep] = append(out[ep], groups[gk].shards...)
	}
	return out
}
