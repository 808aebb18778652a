package replay

import (
	"encoding/json"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/okxtape/okxtape/schema"
)

// okxClient is a test client that keeps OKX books the way a strict client library does, written from the
// protocol description alone (not with ingest's book code): a snapshot (prevSeqId -1) replaces the book, an
// update must carry prevSeqId equal to the previous seqId, and every non-zero checksum must equal the CRC32
// of the top 25 levels.
type okxClient struct {
	t     *testing.T
	c     *websocket.Conn
	books map[string]*vbook // channel|instId
}

type vbook struct {
	bids, asks map[string]string // px string → sz string
	seq        int64
	have       bool
	snapshots  int
	updates    int
	verified   int // non-zero checksums verified
}

// pushMsg is a parsed frame (push or event).
type pushMsg struct {
	Event  string `json:"event"`
	ID     string `json:"id"`
	Code   string `json:"code"`
	Msg    string `json:"msg"`
	Action string `json:"action"`
	Arg    struct {
		Channel string `json:"channel"`
		InstID  string `json:"instId"`
	} `json:"arg"`
	Data []json.RawMessage `json:"data"`
	Raw  string            `json:"-"`
}

type bookData struct {
	Asks      [][]string `json:"asks"`
	Bids      [][]string `json:"bids"`
	Ts        string     `json:"ts"`
	Checksum  *int64     `json:"checksum"`
	PrevSeqID *int64     `json:"prevSeqId"`
	SeqID     *int64     `json:"seqId"`
}

func newOKXClient(t *testing.T, url string) *okxClient {
	return &okxClient{t: t, c: dial(t, url), books: map[string]*vbook{}}
}

func (k *okxClient) send(s string) {
	k.t.Helper()
	if err := k.c.WriteMessage(websocket.TextMessage, []byte(s)); err != nil {
		k.t.Fatalf("sending to %s: %v", k.c.RemoteAddr(), err)
	}
}

// next reads one frame, applies books and fails the test on a broken chain or checksum.
func (k *okxClient) next() pushMsg {
	k.t.Helper()
	_ = k.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, b, err := k.c.ReadMessage()
	if err != nil {
		k.t.Fatalf("read: %v", err)
	}
	var m pushMsg
	m.Raw = string(b)
	if string(b) == "pong" {
		m.Event = "pong"
		return m
	}
	if err := json.Unmarshal(b, &m); err != nil {
		k.t.Fatalf("bad frame %s: %v", b, err)
	}
	if m.Action != "" {
		if err := k.apply(&m); err != nil {
			k.t.Fatalf("%v\nframe %s", err, b)
		}
	}
	return m
}

func (k *okxClient) apply(m *pushMsg) error {
	if len(m.Data) != 1 {
		return fmt.Errorf("book push with %d data elements", len(m.Data))
	}
	var d bookData
	if err := json.Unmarshal(m.Data[0], &d); err != nil {
		return err
	}
	if d.SeqID == nil || d.PrevSeqID == nil || d.Checksum == nil {
		return fmt.Errorf("book push without seqId/prevSeqId/checksum")
	}
	key := m.Arg.Channel + "|" + m.Arg.InstID
	vb := k.books[key]
	if vb == nil {
		vb = &vbook{}
		k.books[key] = vb
	}
	switch m.Action {
	case "snapshot":
		if *d.PrevSeqID != -1 {
			return fmt.Errorf("snapshot prevSeqId %d, want -1", *d.PrevSeqID)
		}
		vb.bids, vb.asks, vb.have = map[string]string{}, map[string]string{}, true
		vb.snapshots++
	case "update":
		if !vb.have {
			return fmt.Errorf("update before a snapshot")
		}
		if *d.PrevSeqID != vb.seq {
			return fmt.Errorf("nonce: prevSeqId %d after seqId %d", *d.PrevSeqID, vb.seq)
		}
		vb.updates++
	default:
		return fmt.Errorf("action %q", m.Action)
	}
	vb.seq = *d.SeqID
	for _, side := range []struct {
		lv [][]string
		m  map[string]string
	}{{d.Bids, vb.bids}, {d.Asks, vb.asks}} {
		for _, l := range side.lv {
			if len(l) < 2 {
				return fmt.Errorf("level %v", l)
			}
			if sz, err := strconv.ParseFloat(l[1], 64); err != nil || sz == 0 {
				delete(side.m, l[0])
			} else {
				side.m[l[0]] = l[1]
			}
		}
	}
	if *d.Checksum != 0 {
		if got := vb.checksum(); got != int32(*d.Checksum) {
			return fmt.Errorf("checksum %d, book gives %d", *d.Checksum, got)
		}
		vb.verified++
	}
	return nil
}

func sortedLevels(m map[string]string, desc bool) []string {
	px := make([]string, 0, len(m))
	for p := range m {
		px = append(px, p)
	}
	sort.Slice(px, func(i, j int) bool {
		a, _ := strconv.ParseFloat(px[i], 64)
		b, _ := strconv.ParseFloat(px[j], 64)
		if desc {
			return a > b
		}
		return a < b
	})
	return px
}

// checksum is OKX's CRC32 over bid1px:bid1sz:ask1px:ask1sz:… of the top 25 levels.
func (vb *vbook) checksum() int32 {
	bids, asks := sortedLevels(vb.bids, true), sortedLevels(vb.asks, false)
	var parts []string
	for i := 0; i < 25; i++ {
		if i < len(bids) {
			parts = append(parts, bids[i], vb.bids[bids[i]])
		}
		if i < len(asks) {
			parts = append(parts, asks[i], vb.asks[asks[i]])
		}
	}
	return int32(crc32.ChecksumIEEE([]byte(strings.Join(parts, ":"))))
}

// bookEvents makes a books stream for inst: a snapshot then n updates every step ms, with OKX-like seqIds
// when seqIDs is set, else none (as in pre-2023 data). Checksums are left 0 (the server computes them).
func bookEvents(seq *uint64, inst string, t0 int64, n int, step int64, seqIDs bool, seed uint64) []schema.Stored {
	r := rand.New(rand.NewPCG(seed, 3))
	mk := func(ts int64, act string) *schema.Book {
		*seq++
		return &schema.Book{Header: schema.Header{Seq: *seq, RecvNs: ts * 1e6, Channel: "books", InstID: inst, Ts: ts},
			Action: act}
	}
	snap := mk(t0, schema.ActionSnapshot)
	for i := 0; i < 30; i++ {
		snap.Bids = append(snap.Bids, schema.Level{Px: 100 - 0.1*float64(i+1), Sz: float64(1 + i), Orders: 1})
		snap.Asks = append(snap.Asks, schema.Level{Px: 100 + 0.1*float64(i+1), Sz: float64(1 + i), Orders: 2})
	}
	s := int64(5000)
	if seqIDs {
		snap.SeqID, snap.PrevSeqID = s, -1
	}
	out := []schema.Stored{snap}
	for i := 1; i <= n; i++ {
		u := mk(t0+int64(i)*step, schema.ActionUpdate)
		for j := 0; j < 3; j++ {
			px := 100 + (0.1 * float64(1+r.IntN(40)))
			lv := schema.Level{Px: float64(int(px*10+0.5)) / 10, Sz: float64(r.IntN(4)), Orders: int64(r.IntN(3))}
			if r.IntN(2) == 0 {
				lv.Px = float64(int((200-lv.Px)*10+0.5)) / 10
				u.Bids = append(u.Bids, lv)
			} else {
				u.Asks = append(u.Asks, lv)
			}
		}
		if seqIDs {
			u.PrevSeqID, s = s, s+int64(1+r.IntN(3))
			u.SeqID = s
		}
		out = append(out, u)
	}
	return out
}

// sessionRow lists what was recorded.
func sessionRow(seq uint64, ts int64, channels, insts string) *schema.Session {
	return &schema.Session{Header: schema.Header{Seq: seq, Ts: ts}, SessionID: "s1", StartMs: ts,
		Channels: channels, Instruments: insts}
}
