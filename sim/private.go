package sim

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/okxtape/okxtape/internal/okxproto"
)

// loginSign is OKX's WebSocket login signature: Base64(HMAC-SHA256(secret, ts+"GET"+"/users/self/verify")).
func loginSign(secret, ts string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "GET" + "/users/self/verify"))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// LoginArgs returns the login request for the given credentials at time now (a test and client helper).
func LoginArgs(apiKey, secret, passphrase string, now time.Time) []byte {
	ts := strconv.FormatInt(now.Unix(), 10)
	b, _ := json.Marshal(map[string]any{"op": "login", "args": []map[string]string{{"apiKey": apiKey,
		"passphrase": passphrase, "timestamp": ts, "sign": loginSign(secret, ts)}}})
	return b
}

func (c *conn) login(id string, args []json.RawMessage) {
	code, msg := c.checkLogin(args)
	if code == "" {
		c.srv.stats.login("ok")
		c.srv.log.Info("okxsim: login ok", "connId", c.id)
		c.sendControl(c.event("login", id, "0", "", nil))
		return
	}
	c.srv.stats.login(code)
	c.srv.log.Info("okxsim: login failed", "connId", c.id, "code", code)
	c.sendError(id, code, msg)
}

func (c *conn) checkLogin(args []json.RawMessage) (string, string) {
	a, e := okxproto.ParseLogin(args)
	if e != nil {
		return e.Code, e.Msg
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.loggedIn {
		return okxproto.ErrLoginAgain.Code, okxproto.ErrLoginAgain.Msg
	}
	ts, e := a.Check()
	if e != nil {
		return e.Code, e.Msg
	}
	cfg := c.srv.cfg
	if cfg.APIKey == "" || !hmac.Equal([]byte(a.APIKey), []byte(cfg.APIKey)) {
		return "60005", "Invalid apiKey"
	}
	if math.Abs(float64(time.Now().UnixNano())/1e9-ts) > 30 {
		return "60006", "Timestamp request expired"
	}
	if !hmac.Equal([]byte(a.Passphrase), []byte(cfg.Passphrase)) {
		return "60024", "Wrong passphrase"
	}
	if !hmac.Equal([]byte(a.Sign), []byte(loginSign(cfg.APISecret, a.Timestamp))) {
		return "60007", "Invalid sign"
	}
	c.loggedIn = true
	return "", ""
}

// privHub simulates one account (uid) shared by every logged-in connection: an order lifecycle
// (live → partially_filled → filled) advancing Rate times per second while anyone subscribes, with the
// matching fills, account, positions and balance_and_position pushes.
type privHub struct {
	s    *Server
	mu   sync.Mutex
	subs map[*conn]map[string]*sub
	n    int
	quit chan struct{}
	rng  *rand.Rand

	ccys    []string
	bal     map[string]float64
	pos     map[string]*position
	ord     *order
	ordSeq  int64
	tradeID int64
}

type position struct {
	in    *instrument
	id    string
	pos   float64 // contracts, signed (net mode)
	avgPx float64
	cTime int64
	uTime int64
}

type order struct {
	in             *instrument
	id, clID, side string
	px, sz, filled int64 // ticks, lots
	avgPx, fee     float64
	state          string
	cTime          int64
	fillPx, fillSz int64
	tradeID        string
}

func newPrivHub(s *Server) *privHub {
	h := &privHub{s: s, subs: map[*conn]map[string]*sub{}, rng: rand.New(rand.NewPCG(uint64(s.cfg.Seed), 0x707276)),
		bal: map[string]float64{"USDT": 100000}, pos: map[string]*position{}, ordSeq: 2497956918703120384,
		tradeID: 1518905529}
	h.ccys = []string{"USDT"}
	for _, in := range s.insts {
		if in.Type == "SPOT" && in.Base != "" && h.bal[in.Base] == 0 && in.listed() {
			h.ccys = append(h.ccys, in.Base)
			h.bal[in.Base] = 1
		}
	}
	return h
}

func (h *privHub) add(c *conn, sb *sub) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.subs[c] == nil {
		h.subs[c] = map[string]*sub{}
	}
	h.subs[c][sb.key] = sb
	h.n++
	now := time.Now().UnixMilli()
	switch sb.channel { // initial snapshots
	case "account":
		h.sendTo(c, sb, h.accountPush(sb, "snapshot", now))
	case "positions":
		h.sendTo(c, sb, h.positionsPush(sb, "snapshot", "", now))
	case "balance_and_position":
		h.sendTo(c, sb, h.balPosPush(sb, "snapshot", "", "", now))
	}
	if h.quit == nil {
		h.quit = make(chan struct{})
		h.s.wg.Add(1)
		go h.run(h.quit)
	}
}

func (h *privHub) remove(c *conn, sb *sub) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.subs[c][sb.key]; !ok {
		return
	}
	delete(h.subs[c], sb.key)
	if len(h.subs[c]) == 0 {
		delete(h.subs, c)
	}
	h.n--
	if h.n == 0 && h.quit != nil {
		close(h.quit)
		h.quit = nil
	}
}

func (h *privHub) run(quit chan struct{}) {
	defer h.s.wg.Done()
	t := time.NewTicker(time.Duration(float64(time.Second) / h.s.cfg.Rate))
	defer t.Stop()
	for {
		select {
		case <-quit:
			return
		case now := <-t.C:
			h.mu.Lock()
			h.step(now.UnixMilli())
			h.mu.Unlock()
		}
	}
}

func (h *privHub) sendTo(c *conn, sb *sub, p frameOut) {
	if p.data != nil {
		c.sendData(sb.channel, p.data, p.items)
	}
}

// broadcast sends build(sub) to every subscription of channel whose filter matches in (nil = any).
func (h *privHub) broadcast(channel string, in *instrument, build func(*sub) frameOut) {
	for c, subs := range h.subs {
		for _, sb := range subs {
			if sb.channel == channel && matches(sb, in) {
				h.sendTo(c, sb, build(sb))
			}
		}
	}
}

func matches(sb *sub, in *instrument) bool {
	if in == nil {
		return true
	}
	if sb.instType != "" && sb.instType != "ANY" && sb.instType != in.Type {
		return false
	}
	if sb.instID != "" && sb.instID != in.ID {
		return false
	}
	return sb.instFamily == "" || sb.instFamily == in.Base+"-"+in.Quote
}

// step advances the order lifecycle by one state and pushes the consequences. Caller holds h.mu.
func (h *privHub) step(now int64) {
	o := h.ord
	if o == nil || o.state == "filled" {
		h.newOrder(now)
		o = h.ord
	} else {
		qty := o.sz - o.filled
		if o.filled == 0 && qty >= 2*o.in.MinSz {
			qty = (qty / 2 / o.in.MinSz) * o.in.MinSz
		}
		h.fill(o, qty, now)
	}
	h.broadcast("orders", o.in, func(sb *sub) frameOut { return h.orderPush(sb, o, now) })
	if o.fillSz == 0 {
		return
	}
	h.broadcast("fills", o.in, func(sb *sub) frameOut { return h.fillPush(sb, o, now) })
	h.broadcast("account", nil, func(sb *sub) frameOut { return h.accountPush(sb, "event_update", now) })
	if o.in.Type != "SPOT" {
		h.broadcast("positions", o.in, func(sb *sub) frameOut { return h.positionsPush(sb, "event_update", o.in.ID, now) })
	}
	h.broadcast("balance_and_position", nil, func(sb *sub) frameOut {
		return h.balPosPush(sb, "filled", o.in.ID, o.tradeID, now)
	})
}

func (h *privHub) newOrder(now int64) {
	in := h.s.insts[h.rng.IntN(len(h.s.insts))]
	if !in.listed() {
		return
	}
	in.mkt.mu.Lock()
	mid := in.mkt.mid()
	in.mkt.mu.Unlock()
	h.ordSeq += 1 + h.rng.Int64N(1000)
	side := "buy"
	if h.rng.IntN(2) == 0 {
		side = "sell"
	}
	h.ord = &order{in: in, id: strconv.FormatInt(h.ordSeq, 10), clID: strconv.FormatInt(h.ordSeq%1000000, 10),
		side: side, px: mid, sz: in.MinSz * (2 + h.rng.Int64N(20)), state: "live", cTime: now}
}

func (h *privHub) fill(o *order, qty, now int64) {
	lots, ticks := pow10f(o.in.LotDec), pow10f(o.in.TickDec)
	px := float64(o.px) / ticks
	q := float64(qty) / lots
	o.avgPx = (o.avgPx*float64(o.filled)/lots + px*q) / (float64(o.filled+qty) / lots)
	o.filled += qty
	o.fillPx, o.fillSz = o.px, qty
	h.tradeID += 1 + h.rng.Int64N(5)
	o.tradeID = strconv.FormatInt(h.tradeID, 10)
	o.state = "partially_filled"
	if o.filled >= o.sz {
		o.state = "filled"
	}
	sign := 1.0
	if o.side == "sell" {
		sign = -1
	}
	notional := q * px
	if o.in.Type == "SPOT" {
		h.bal[o.in.Base] += sign * q
		h.bal["USDT"] -= sign * notional
	} else {
		notional *= parseF(o.in.CtVal)
		p := h.pos[o.in.ID]
		if p == nil {
			p = &position{in: o.in, id: strconv.FormatInt(1000000000+int64(len(h.pos)), 10), cTime: now}
			h.pos[o.in.ID] = p
		}
		if p.pos == 0 || (p.pos > 0) == (sign > 0) {
			p.avgPx = (p.avgPx*math.Abs(p.pos) + px*q) / (math.Abs(p.pos) + q)
		}
		p.pos += sign * q
		p.uTime = now
	}
	fee := -0.0005 * notional
	o.fee += fee
	h.bal["USDT"] += fee
}
