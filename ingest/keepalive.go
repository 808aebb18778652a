package ingest

import (
	"time"

	"github.com/gorilla/websocket"
)

// keepalive implements OKX's rule (docs §3): when nothing was received for PingAfter, send the text "ping";
// when nothing at all (a "pong" or any other frame) arrives within PongTimeout after it, the peer is dead:
// drop the socket so the slot reconnects. It also keeps OKX's 30 s idle rule from closing quiet connections.
func (cn *conn) keepalive() {
	cfg := &cn.c.cfg
	tick := min(cfg.PingAfter, cfg.PongTimeout) / 4
	tick = max(min(tick, time.Second), 5*time.Millisecond)
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-cn.done:
			return
		case <-cn.closing:
			return
		case <-t.C:
		}
		now := time.Now().UnixNano()
		last := cn.lastRecv.Load()
		if sent := cn.pingSent.Load(); sent != 0 {
			if last >= sent {
				cn.pingSent.Store(0)
			} else if time.Duration(now-sent) >= cfg.PongTimeout {
				cn.c.log.Warn("no pong from okx; reconnecting", "conn", cn.label,
					"silent", time.Duration(now-last).Round(time.Millisecond))
				cn.kill("no pong within " + cfg.PongTimeout.String() + " of a ping")
				return
			}
			continue
		}
		if time.Duration(now-last) >= cfg.PingAfter {
			cn.pingSent.Store(now)
			cn.c.pings.Add(1)
			cn.wmu.Lock()
			_ = cn.ws.SetWriteDeadline(time.Now().Add(writeTimeout))
			err := cn.ws.WriteMessage(websocket.TextMessage, []byte("ping"))
			cn.wmu.Unlock()
			if err != nil {
				cn.kill("ping: " + err.Error())
				return
			}
		}
	}
}
