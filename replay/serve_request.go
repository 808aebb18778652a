package replay

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/okxtape/okxtape/internal/okxproto"
	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/schema/channels"
)

// selKind is what a channel is subscribed with.
type selKind uint8

const (
	selInstID   selKind = iota // instId required
	selInstType                // instType required (instFamily/instId optional)
	selNone                    // no selector (private account-wide channels)
)

// channelSpec returns, from the channel registry, where an OKX channel is served, what selects it (the
// selector a subscription must carry: instId for market data, instType for orders/positions, none for the
// account-wide private channels), whether it needs a login, and whether the channel is known.
func channelSpec(ch string) (endpoint string, sel selKind, login, known bool) {
	e := channels.Lookup(ch)
	if e == nil {
		return "", 0, false, false
	}
	switch {
	case e.Selector == channels.ByInstID && e.Endpoint != schema.EndpointPrivate:
		sel = selInstID
	case e.Selector == channels.ByInstType:
		sel = selInstType
	default:
		sel = selNone // ccy, none, or an optional instId (fills)
	}
	return e.Endpoint, sel, e.Login, true
}

// channelEndpoint returns the endpoint that serves an OKX channel, and whether the channel is known.
func channelEndpoint(ch string) (string, bool) {
	ep, _, _, ok := channelSpec(ch)
	return ep, ok
}

// instTypeOf derives an OKX instType from an instrument id: BTC-USDT SPOT, BTC-USDT-SWAP SWAP,
// BTC-USD-250328 FUTURES, BTC-USD-250328-50000-C OPTION ("" when there is no instId).
func instTypeOf(inst string) string {
	switch n := strings.Count(inst, "-"); {
	case inst == "":
		return ""
	case strings.HasSuffix(inst, "-SWAP"):
		return "SWAP"
	case n == 1:
		return "SPOT"
	case n == 2:
		return "FUTURES"
	case n >= 4:
		return "OPTION"
	}
	return ""
}

// instFamilyOf is the instrument family (BTC-USD of BTC-USD-SWAP); "" for spot.
func instFamilyOf(inst string) string {
	if instTypeOf(inst) == "SPOT" {
		return ""
	}
	p := strings.SplitN(inst, "-", 3)
	if len(p) < 3 {
		return ""
	}
	return p[0] + "-" + p[1]
}

// wireArg is a subscription argument.
type wireArg struct {
	Channel    string `json:"channel"`
	InstID     string `json:"instId"`
	InstType   string `json:"instType"`
	InstFamily string `json:"instFamily"`
	Ccy        string `json:"ccy"`
}

func (a *wireArg) key() string {
	return a.Channel + "|" + a.InstID + "|" + a.InstType + "|" + a.InstFamily + "|" + a.Ccy
}

func (a *wireArg) selector() string {
	switch {
	case a.InstID != "":
		return "instId:" + a.InstID
	case a.InstType != "":
		return "instType:" + a.InstType
	}
	return ""
}

// event builds a control message {"id"?,"event":ev,"arg"?|"code","msg","connId"} in OKX field order.
func (c *wsConn) event(ev, id, code, msg string, arg []byte) []byte {
	w := jw{b: make([]byte, 0, 96+len(msg)+len(arg))}
	w.raw("{")
	if id != "" {
		w.raw(`"id":`)
		w.str(id)
		w.raw(",")
	}
	w.raw(`"event":`)
	w.str(ev)
	if arg != nil {
		w.raw(`,"arg":`)
		w.b = append(w.b, arg...)
	}
	if code != "" {
		w.kstr("code", code)
		w.kstr("msg", msg)
	}
	w.kstr("connId", c.id)
	w.raw("}")
	return w.b
}

func (c *wsConn) fail(id, code, msg string) error {
	return c.send(c.event("error", id, code, msg, nil))
}

func (c *wsConn) refuse(id string, e *okxproto.Error) error { return c.fail(id, e.Code, e.Msg) }

// request handles one JSON request with OKX's rules: one ack or error per arg, in order.
func (c *wsConn) request(msg []byte) error {
	id, op, args, e := okxproto.ParseRequest(msg)
	if e != nil {
		return c.refuse(id, e)
	}
	if !c.allowRequest() {
		return c.refuse(id, okxproto.ErrTooFrequent)
	}
	if op == "login" {
		return c.login(id, args)
	}
	start := false
	for _, raw := range args {
		s, err := c.arg(id, op, raw, msg)
		if err != nil {
			return err
		}
		start = start || s
	}
	if start {
		c.s.wg.Add(1)
		go c.play()
	}
	return nil
}

// maxRequestsPerHour is OKX's limit on subscribe + unsubscribe + login requests per connection.
const maxRequestsPerHour = 480

// allowRequest applies the per-connection request limit over a sliding hour.
func (c *wsConn) allowRequest() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reqs.Allow(time.Now(), maxRequestsPerHour)
}

// arg handles one subscribe/unsubscribe argument; start reports that it started the playback.
func (c *wsConn) arg(id, op string, raw json.RawMessage, msg []byte) (start bool, _ error) {
	var fields map[string]json.RawMessage
	var a wireArg
	if json.Unmarshal(raw, &fields) != nil || json.Unmarshal(raw, &a) != nil || a.Channel == "" {
		return false, c.refuse(id, okxproto.Invalid(msg))
	}
	if _, ok := fields["uly"]; ok {
		return false, c.refuse(id, okxproto.ErrUlyGone)
	}
	if code, text := c.check(&a); code != "" {
		return false, c.fail(id, code, text)
	}
	var echo bytes.Buffer
	_ = json.Compact(&echo, raw)
	c.mu.Lock()
	defer c.mu.Unlock()
	if op == "unsubscribe" {
		c.unsubscribe(&a)
		return false, c.send(c.event("unsubscribe", id, "", "", echo.Bytes()))
	}
	evicted, clash := c.l2tbtRule(&a)
	if clash {
		return false, c.fail(id, "64004", fmt.Sprintf("Subscribe to both %s and books-l2-tbt for %s is not allowed. Unsubscribe books-l2-tbt first.", a.Channel, a.InstID))
	}
	sb := c.subs[a.key()]
	if sb == nil {
		sb = &sub{arg: a, echo: echo.Bytes()}
		c.subs[a.key()] = sb
		if _, sel, _, _ := channelSpec(a.Channel); sel == selInstID {
			c.byStream[streamID{a.Channel, a.InstID}] = sb
		} else {
			c.wide = append(c.wide, sb)
		}
	}
	if IncrementalBook(a.Channel) { // first, late or repeated: a snapshot at the current playback time
		sb.state = subJoin
		c.joins.Store(true)
		select {
		case c.wake <- struct{}{}:
		default:
		}
	}
	if !c.playing {
		c.playing, start = true, true
	}
	if err := c.send(c.event("subscribe", id, "", "", echo.Bytes())); err != nil {
		return start, err
	}
	for _, o := range evicted { // server-side unsubscribes of the older depth channels
		c.unsubscribe(&o.arg)
		if err := c.send(c.event("unsubscribe", "", "", "", o.echo)); err != nil {
			return start, err
		}
	}
	return start, nil
}

// exclusiveDepth are the channels of OKX's rule (2024-07-17) that books-l2-tbt excludes on one connection.
var exclusiveDepth = map[string]bool{"books": true, "books-l2-tbt": true, "books50-l2-tbt": true}

// l2tbtRule applies OKX's books-l2-tbt exclusivity for a subscription (c.mu held): subscribing books or
// books50-l2-tbt while books-l2-tbt is held for the instrument clashes (64004); subscribing books-l2-tbt
// evicts them (returned, to be unsubscribed after the ack).
func (c *wsConn) l2tbtRule(a *wireArg) (evicted []*sub, clash bool) {
	if !exclusiveDepth[a.Channel] {
		return nil, false
	}
	for id, o := range c.byStream {
		if id.inst != a.InstID || id.channel == a.Channel || !exclusiveDepth[id.channel] {
			continue
		}
		if id.channel == "books-l2-tbt" {
			return nil, true
		}
		if a.Channel == "books-l2-tbt" {
			evicted = append(evicted, o)
		}
	}
	return evicted, false
}

func (c *wsConn) unsubscribe(a *wireArg) {
	sb := c.subs[a.key()]
	if sb == nil {
		return
	}
	delete(c.subs, a.key())
	if c.byStream[streamID{a.Channel, a.InstID}] == sb {
		delete(c.byStream, streamID{a.Channel, a.InstID})
	}
	for i, w := range c.wide {
		if w == sb {
			c.wide = append(c.wide[:i], c.wide[i+1:]...)
			break
		}
	}
}

// check validates an arg against the endpoint, the login and the recorded channels and instruments: an OKX
// error code and message, or "".
func (c *wsConn) check(a *wireArg) (code, msg string) {
	ep, sel, login, known := channelSpec(a.Channel)
	notFound := okxproto.WrongURL(a.Channel, a.selector())
	switch {
	case !known:
		return okxproto.CodeWrongURL, notFound
	case ep == schema.EndpointBusiness && c.endpoint == schema.EndpointPublic:
		return okxproto.ErrBusinessOnly.Code, okxproto.ErrBusinessOnly.Msg
	case ep == schema.EndpointPublic && c.endpoint == schema.EndpointBusiness:
		return okxproto.ErrPublicOnly.Code, okxproto.ErrPublicOnly.Msg
	case ep != c.endpoint:
		return okxproto.CodeWrongURL, notFound
	}
	c.mu.Lock()
	logged := c.loggedIn
	c.mu.Unlock()
	switch {
	case login && ep == schema.EndpointPrivate && !logged:
		return "60011", "Please log in"
	case login && !logged:
		return "64003", "Your trading fee tier doesn't meet the requirement to access this channel"
	case sel == selInstID && a.InstID == "", sel == selInstType && a.InstType == "":
		return "60013", "Invalid args"
	}
	s := c.s
	switch {
	case ep == schema.EndpointPrivate && !s.raw: // private datasets are only replayed as stored frames
		return okxproto.CodeWrongURL, notFound
	case s.channels != nil && !s.channels[a.Channel]:
		return okxproto.CodeWrongURL, notFound
	case s.insts != nil && a.InstID != "" && !s.insts[a.InstID] && a.Channel != "index-tickers":
		return okxproto.CodeWrongURL, notFound
	case len(s.o.Query.Channels) > 0 && !containsStr(s.o.Query.Channels, a.Channel),
		len(s.o.Query.Insts) > 0 && a.InstID != "" && !containsStr(s.o.Query.Insts, a.InstID):
		return okxproto.CodeWrongURL, notFound
	}
	return "", ""
}

func containsStr(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// login accepts any well-formed login (replay serve has no account to check the signature against; the
// credentials are neither logged nor stored) and unlocks the stored private channels.
func (c *wsConn) login(id string, args []json.RawMessage) error {
	a, e := okxproto.ParseLogin(args)
	if e == nil {
		_, e = a.Check()
	}
	if e != nil {
		return c.refuse(id, e)
	}
	c.mu.Lock()
	again := c.loggedIn
	c.loggedIn = true
	c.mu.Unlock()
	if again {
		return c.refuse(id, okxproto.ErrLoginAgain)
	}
	return c.send(c.event("login", id, "0", "", nil))
}
