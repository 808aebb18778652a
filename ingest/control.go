package ingest

import (
	"strings"
	"time"

	"github.com/okxtape/okxtape/ingest/decode"
	"github.com/okxtape/okxtape/schema"
)

// Control messages: OKX's events (subscribe and unsubscribe acks, login answers, errors, notices) on one
// connection, read by its reader goroutine.

// handleEvent acts on one control message: acks update the subscription state, a login answer or an error
// goes to whoever waits for it, a 64008 notice starts a handover.
func (cn *conn) handleEvent(env *decode.Envelope, recvNs int64) {
	c := cn.c
	if env.ConnID != "" && cn.connIDString() != env.ConnID {
		id := env.ConnID
		cn.connID.Store(&id)
	}
	hdr := schema.Header{RecvNs: recvNs, Ts: recvNs / int64(time.Millisecond)}
	switch env.Event {
	case "subscribe":
		cn.mu.Lock()
		cn.state[argKey(env.Arg)] = argAcked
		cn.pruneRequest(env.ID)
		cn.mu.Unlock()
		hdr.Channel, hdr.InstID = env.Arg.Channel, env.Arg.InstID
		c.cfg.Emit(&schema.Subscribed{Header: hdr, Conn: cn.label, InstType: env.Arg.InstType})
	case "unsubscribe":
		k := argKey(env.Arg)
		cn.mu.Lock()
		asked := cn.unsubs[k] > 0
		if asked {
			cn.unsubs[k]--
		}
		cn.mu.Unlock()
		if !asked {
			c.log.Warn("okx unsubscribed a channel on its own", "conn", cn.label, "arg", argString(env.Arg))
		}
	case "login":
		cn.mu.Lock()
		ch := cn.loginCh
		cn.loginCh = nil
		cn.mu.Unlock()
		if ch == nil {
			return
		}
		if env.Code == "" || env.Code == "0" {
			ch <- nil
		} else {
			ch <- loginFailure(cn.endpoint, &OKXError{Code: env.Code, Msg: c.scrub.scrub(env.Msg), ConnID: env.ConnID})
		}
	case "error":
		oe := &OKXError{Code: env.Code, Msg: c.scrub.scrub(env.Msg), ConnID: env.ConnID}
		hdr.Channel, hdr.InstID = cn.resolveError(env.ID, oe)
		c.exchangeError(cn.label, oe)
		c.cfg.Emit(&schema.ExchangeError{Header: hdr, Conn: cn.label, Code: oe.Code, Msg: oe.Msg})
	case "notice":
		c.log.Info("okx notice", "conn", cn.label, "code", env.Code, "msg", env.Msg, "connId", env.ConnID)
		if env.Code == "64008" {
			select {
			case cn.notice <- struct{}{}:
			default:
			}
		}
	case "channel-conn-count":
		c.log.Info("okx channel connection count", "conn", cn.label, "channel", env.Arg.Channel,
			"count", env.ConnCount)
	case "channel-conn-count-error":
		c.exchErrors.add("channel-conn-count-error", 1)
		metricExchangeErrors.WithLabelValues("channel-conn-count-error").Inc()
		c.log.Warn("okx terminated a subscription: too many connections for this private channel",
			"conn", cn.label, "channel", env.Arg.Channel, "count", env.ConnCount)
	default:
		c.logOnce("event:"+env.Event, "okx sent an unknown event (logged once)", "conn", cn.label,
			"event", env.Event)
	}
}

// resolveError routes an error event: to a pending login, or to the subscribe request it answers (marking the
// arg named in its message as failed). It returns the arg's channel and instId when known.
func (cn *conn) resolveError(id string, oe *OKXError) (channel, instID string) {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	if cn.loginCh != nil && (isLoginCode(oe.Code) || id == "") {
		ch := cn.loginCh
		cn.loginCh = nil
		ch <- loginFailure(cn.endpoint, oe)
		return "", ""
	}
	cn.lastErr = time.Now()
	if cn.firstErr == nil {
		cn.firstErr = oe
	}
	req := cn.requests[id]
	var keys []string
	if req != nil {
		req.errored = true
		keys = req.keys
	} else {
		for k, st := range cn.state {
			if st == argPending {
				keys = append(keys, k)
			}
		}
	}
	for _, k := range keys {
		parts := strings.SplitN(k, "|", 3)
		if len(parts) < 2 || cn.state[k] != argPending {
			continue
		}
		if strings.Contains(oe.Msg, "channel:"+parts[0]) &&
			(parts[1] == "" || strings.Contains(oe.Msg, "instId:"+parts[1])) {
			cn.state[k] = argFailed
			cn.pruneRequest(id)
			return parts[0], parts[1]
		}
	}
	return "", ""
}
