package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/okxtape/okxtape/internal/okxproto"
)

type selKind int

const (
	selInstID selKind = iota
	selInstType
	selInstFamily
	selNone
)

// chanSpec describes one channel name: the simulator's entry for it and, for a candle, the bar.
type chanSpec struct {
	simChannel
	name string
	bar  string // candles: bar name ("1m", "1Hutc")
}

var candleBars = map[string]bool{}

func init() {
	for _, b := range strings.Fields("3M 1M 1W 1D 2D 3D 5D 12H 6H 4H 2H 1H 30m 15m 5m 3m 1m 1s " +
		"3Mutc 1Mutc 1Wutc 1Dutc 2Dutc 3Dutc 5Dutc 12Hutc 6Hutc") {
		candleBars[b] = true
	}
}

// sub is one accepted subscription of a connection.
type sub struct {
	channel    string
	spec       chanSpec
	instID     string
	instType   string
	instFamily string
	ccy        string
	raw        []byte // the arg as sent (compacted), echoed in acks
	key        string // channel + selector: identity of the stream
}

func (sb *sub) selector() string {
	switch {
	case sb.instID != "":
		return "instId:" + sb.instID
	case sb.instType != "":
		return "instType:" + sb.instType
	case sb.instFamily != "":
		return "instFamily:" + sb.instFamily
	}
	return ""
}

// handle processes one client text frame (not ping).
func (c *conn) handle(msg []byte) {
	id, op, args, e := okxproto.ParseRequest(msg)
	if e != nil {
		c.refuse(id, e)
		return
	}
	if !c.allowRequest() {
		c.refuse(id, okxproto.ErrTooFrequent)
		return
	}
	if op == "login" {
		c.login(id, args)
		return
	}
	if c.srv.capture != nil {
		p := c.capturePlayer()
		p.hold()
		defer p.release()
	}
	for _, a := range args {
		c.handleArg(id, op, a, msg)
	}
}

// allowRequest applies the per-connection subscribe/unsubscribe/login limit (sliding hour).
func (c *conn) allowRequest() bool {
	limit := c.srv.cfg.Faults.MaxSubsPerHour
	if limit < 0 {
		return true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reqs.Allow(time.Now(), limit)
}

func (c *conn) handleArg(id, op string, raw json.RawMessage, msg []byte) {
	var fields map[string]any
	if err := json.Unmarshal(raw, &fields); err != nil {
		c.refuse(id, okxproto.Invalid(msg))
		return
	}
	str := func(k string) string { v, _ := fields[k].(string); return v }
	channel := str("channel")
	if channel == "" {
		c.refuse(id, okxproto.Invalid(msg))
		return
	}
	if _, ok := fields["uly"]; ok {
		c.refuse(id, okxproto.ErrUlyGone)
		return
	}
	var compact bytes.Buffer
	_ = json.Compact(&compact, raw)
	sb := &sub{channel: channel, instID: str("instId"), instType: str("instType"), instFamily: str("instFamily"),
		ccy: str("ccy"), raw: compact.Bytes()}
	sp, ok := lookupChannel(channel)
	sb.spec = sp
	if !ok {
		c.sendError(id, okxproto.CodeWrongURL, okxproto.WrongURL(channel, sb.selector()))
		return
	}
	sb.key = channel + "|" + sb.instID + "|" + sb.instType + "|" + sb.instFamily + "|" + sb.ccy
	c.mu.Lock()
	_, held := c.subs[sb.key]
	c.mu.Unlock()
	// A held subscription can always be unsubscribed, even once its instrument is delisted.
	if op != "unsubscribe" || !held {
		if code, m := c.validate(sb); code != "" {
			c.sendError(id, code, m)
			return
		}
	}
	if op == "unsubscribe" {
		c.mu.Lock()
		old := c.subs[sb.key]
		delete(c.subs, sb.key)
		c.mu.Unlock()
		if old != nil { // stop the stream first: no data of it follows the ack
			c.srv.unsubscribe(c, old)
		}
		c.sendControl(c.event("unsubscribe", id, "", "", sb.raw))
		return
	}
	// books-l2-tbt excludes books/books50-l2-tbt for the same instId on one connection (OKX 2024-07-17).
	var evicted []*sub
	c.mu.Lock()
	if sp.depth > 0 {
		for k, o := range c.subs {
			if o.spec.depth == 0 || o.instID != sb.instID || o.channel == sb.channel {
				continue
			}
			if o.channel == "books-l2-tbt" {
				c.mu.Unlock()
				c.sendError(id, "64004", fmt.Sprintf("Subscribe to both %s and books-l2-tbt for %s is not allowed. Unsubscribe books-l2-tbt first.", sb.channel, sb.instID))
				return
			}
			if sb.channel == "books-l2-tbt" {
				evicted = append(evicted, o)
				delete(c.subs, k)
			}
		}
	}
	_, dup := c.subs[sb.key]
	if !dup {
		c.subs[sb.key] = sb
	}
	c.mu.Unlock()
	c.sendControl(c.event("subscribe", id, "", "", sb.raw))
	for _, o := range evicted { // server-side unsubscribe of the older depth channels
		c.srv.unsubscribe(c, o)
		c.sendControl(c.event("unsubscribe", "", "", "", o.raw))
	}
	if !dup || !sp.private { // a repeated market-data subscribe gets a fresh snapshot (books, books5, ...)
		c.srv.subscribe(c, sb)
	}
}

// validate returns an OKX error code and message for sb on this connection, or "" if it may subscribe.
func (c *conn) validate(sb *sub) (string, string) {
	sp := sb.spec
	switch {
	case sp.path == pathBusiness && c.path == pathPublic:
		return okxproto.ErrBusinessOnly.Code, okxproto.ErrBusinessOnly.Msg
	case sp.path == pathPublic && c.path == pathBusiness:
		return okxproto.ErrPublicOnly.Code, okxproto.ErrPublicOnly.Msg
	case sp.path != c.path:
		return okxproto.CodeWrongURL, okxproto.WrongURL(sb.channel, sb.selector())
	}
	c.mu.Lock()
	logged := c.loggedIn
	c.mu.Unlock()
	if sp.private && !logged {
		return "60011", "Please log in"
	}
	if sp.l2 && !logged {
		return "64003", "Your trading fee tier doesn't meet the requirement to access this channel"
	}
	if c.srv.capture != nil && !sp.private {
		if !c.srv.capture.has(sb.channel, sb.instID+sb.instType) {
			return okxproto.CodeWrongURL, okxproto.WrongURL(sb.channel, sb.selector())
		}
		return "", ""
	}
	bad := func() (string, string) { return okxproto.CodeWrongURL, okxproto.WrongURL(sb.channel, sb.selector()) }
	if code, msg, done := c.validateVenue(sb); done {
		return code, msg
	}
	switch sp.sel {
	case selInstID:
		if sb.instID == "" {
			return "60013", "Invalid args"
		}
		if sp.index {
			if c.srv.indexMarket(sb.instID) == nil {
				return bad()
			}
			return "", ""
		}
		in := c.srv.byID[sb.instID]
		if in == nil || !in.listed() {
			return bad()
		}
		if sp.swapOnly && in.Type != "SWAP" {
			return bad()
		}
	case selInstType:
		if sb.instType == "" {
			return "60013", "Invalid args"
		}
		if !strings.Contains(" "+sp.instTypes+" ", " "+sb.instType+" ") {
			return bad()
		}
	}
	if in := c.srv.byID[sb.instID]; sb.instID != "" && sp.sel != selInstID && (in == nil || !in.listed()) {
		return bad()
	}
	return "", ""
}

// indexMarket maps an index id (BTC-USDT or BTC-USD) to the market whose price drives it.
func (s *Server) indexMarket(id string) *market {
	base, quote, ok := strings.Cut(id, "-")
	if !ok || (quote != "USDT" && quote != "USD") {
		return nil
	}
	if in := s.byID[base+"-USDT"]; in != nil && in.listed() {
		return in.mkt
	}
	return nil
}
