package sim

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// CaptureFrame is one frame of a capture file: when it was seen, its direction (Outgoing = client→server),
// the connection URL and the raw frame.
type CaptureFrame struct {
	At       time.Time
	Outgoing bool
	URL      string
	Frame    []byte
}

// ReadCapture parses the OKX.ws.1.0 capture format (cryptofeed): "<url> <-> <ts>" opens a connection,
// "<url> <- <ts>: <frame>" is a client frame, "<ts>: <frame>" a server frame; ts is Unix seconds with a
// fraction. Connection markers are not returned as frames.
func ReadCapture(r io.Reader) ([]CaptureFrame, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 64<<20)
	var out []CaptureFrame
	url := ""
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		head, _, _ := strings.Cut(line, "{")
		if u, ts, ok := strings.Cut(head, " <-> "); ok {
			if _, err := parseUnixSeconds(strings.TrimSpace(ts)); err != nil {
				return nil, fmt.Errorf("capture line %d: %w", n, err)
			}
			url = u
			continue
		}
		fr := CaptureFrame{URL: url}
		rest := line
		if u, after, ok := strings.Cut(head, " <- "); ok {
			fr.Outgoing, fr.URL = true, u
			rest = after + line[len(head):]
		}
		ts, frame, ok := strings.Cut(rest, ": ")
		if !ok {
			return nil, fmt.Errorf("capture line %d: missing \"<ts>: \" prefix", n)
		}
		at, err := parseUnixSeconds(ts)
		if err != nil {
			return nil, fmt.Errorf("capture line %d: %w", n, err)
		}
		fr.At, fr.Frame = at, []byte(frame)
		out = append(out, fr)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("capture: %w", err)
	}
	return out, nil
}

func parseUnixSeconds(s string) (time.Time, error) {
	sec, frac, _ := strings.Cut(s, ".")
	secs, err := strconv.ParseInt(sec, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("bad timestamp %q", s)
	}
	var ns int64
	if frac != "" {
		if len(frac) > 9 {
			frac = frac[:9]
		}
		f, err := strconv.ParseInt(frac, 10, 64)
		if err != nil {
			return time.Time{}, fmt.Errorf("bad timestamp %q", s)
		}
		ns = f * pow10i(9-len(frac))
	}
	return time.Unix(secs, ns), nil
}

type capFrame struct {
	idx     int
	at      time.Time
	channel string
	data    []byte
	items   int
}

// captureIndex holds the server→client pushes of a capture, per stream (channel|instId-or-instType).
type captureIndex struct {
	streams map[string][]capFrame
	instIDs []string
	first   time.Time
}

func newCaptureIndex(frames []CaptureFrame) *captureIndex {
	ix := &captureIndex{streams: map[string][]capFrame{}}
	seen := map[string]bool{}
	for i, f := range frames {
		if f.Outgoing {
			continue
		}
		var p struct {
			Arg  map[string]any    `json:"arg"`
			Data []json.RawMessage `json:"data"`
		}
		if json.Unmarshal(f.Frame, &p) != nil || p.Arg == nil || p.Data == nil {
			continue
		}
		ch, _ := p.Arg["channel"].(string)
		id, _ := p.Arg["instId"].(string)
		it, _ := p.Arg["instType"].(string)
		if ch == "" {
			continue
		}
		if ix.first.IsZero() {
			ix.first = f.At
		}
		if id != "" && !seen[id] {
			seen[id] = true
			ix.instIDs = append(ix.instIDs, id)
		}
		key := ch + "|" + id + it
		ix.streams[key] = append(ix.streams[key], capFrame{idx: i, at: f.At, channel: ch, data: f.Frame, items: len(p.Data)})
	}
	return ix
}

func (ix *captureIndex) has(channel, sel string) bool { return len(ix.streams[channel+"|"+sel]) > 0 }

// capturePlayer sends a connection the captured frames of its subscriptions: each subscription's stream
// from its start, interleaved in capture order, paced by CaptureSpeed relative to the first subscribe.
type capturePlayer struct {
	c       *conn
	ix      *captureIndex
	speed   float64
	mu      sync.Mutex
	cursors map[string]*capCursor
	held    int // requests being processed: their streams start together, in capture order
	origin  time.Time
	wake    chan struct{}
	quit    chan struct{}
	once    sync.Once
}

type capCursor struct {
	frames []capFrame
	pos    int
}

func (c *conn) capturePlayer() *capturePlayer {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.player == nil {
		c.player = &capturePlayer{c: c, ix: c.srv.capture, speed: c.srv.cfg.CaptureSpeed,
			cursors: map[string]*capCursor{}, origin: time.Now(), wake: make(chan struct{}, 1),
			quit: make(chan struct{})}
		c.srv.wg.Add(1)
		go c.player.run()
	}
	return c.player
}

func (p *capturePlayer) add(sb *sub) {
	key := sb.channel + "|" + sb.instID + sb.instType
	p.mu.Lock()
	if p.cursors[key] == nil {
		p.cursors[key] = &capCursor{frames: p.ix.streams[key]}
	}
	p.mu.Unlock()
	p.poke()
}

func (p *capturePlayer) remove(sb *sub) {
	p.mu.Lock()
	delete(p.cursors, sb.channel+"|"+sb.instID+sb.instType)
	p.mu.Unlock()
	p.poke()
}

// hold pauses sending while a request's args are added (release resumes): otherwise the first arg's stream
// could start before the next arg's, out of capture order.
func (p *capturePlayer) hold() {
	p.mu.Lock()
	p.held++
	p.mu.Unlock()
}

func (p *capturePlayer) release() {
	p.mu.Lock()
	p.held--
	p.mu.Unlock()
	p.poke()
}

func (p *capturePlayer) poke() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

func (p *capturePlayer) stop() { p.once.Do(func() { close(p.quit) }) }

func (p *capturePlayer) next() (*capCursor, capFrame, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.held > 0 {
		return nil, capFrame{}, false
	}
	var best *capCursor
	for _, cur := range p.cursors {
		if cur.pos < len(cur.frames) && (best == nil || cur.frames[cur.pos].idx < best.frames[best.pos].idx) {
			best = cur
		}
	}
	if best == nil {
		return nil, capFrame{}, false
	}
	return best, best.frames[best.pos], true
}

func (p *capturePlayer) run() {
	defer p.c.srv.wg.Done()
	for {
		cur, fr, ok := p.next()
		if !ok {
			select {
			case <-p.wake:
				continue
			case <-p.quit:
				return
			case <-p.c.done:
				return
			}
		}
		if p.speed > 0 {
			due := p.origin.Add(time.Duration(float64(fr.at.Sub(p.ix.first)) / p.speed))
			if d := time.Until(due); d > 0 {
				t := time.NewTimer(d)
				select {
				case <-t.C:
				case <-p.wake: // subscriptions changed: re-pick
					t.Stop()
					continue
				case <-p.quit:
					t.Stop()
					return
				case <-p.c.done:
					t.Stop()
					return
				}
			}
		}
		p.mu.Lock()
		if p.held > 0 { // a request is adding streams: re-pick once it is done
			p.mu.Unlock()
			continue
		}
		still := false
		for _, c := range p.cursors {
			if c == cur {
				still = true
			}
		}
		if still {
			cur.pos++
		}
		p.mu.Unlock()
		if still && !p.c.sendDataWait(fr.channel, fr.data, fr.items) {
			return
		}
	}
}

type keyedFrame struct {
	key  string
	data []byte
}

// all returns every indexed push with its stream key, in capture order.
func (ix *captureIndex) all() []keyedFrame {
	var fs []capFrame
	keys := map[int]string{}
	for k, s := range ix.streams {
		for _, f := range s {
			fs = append(fs, f)
			keys[f.idx] = k
		}
	}
	slices.SortFunc(fs, func(a, b capFrame) int { return a.idx - b.idx })
	out := make([]keyedFrame, len(fs))
	for i, f := range fs {
		out[i] = keyedFrame{keys[f.idx], f.data}
	}
	return out
}
