package replay

import (
	"encoding/json"
	"fmt"
	"strconv"
	"testing"

	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/store/parquet"
)

// depthStore writes 10 s of tickers, trades and books (without seqIds unless seqIDs) for BTC-USDT, 100 ms
// apart, and a session row.
func depthStore(t *testing.T, seqIDs bool) string {
	dir := t.TempDir()
	var seq uint64
	evs := bookEvents(&seq, "BTC-USDT", day0, 100, 100, seqIDs, 1)
	for i := 0; i < 100; i++ {
		seq++
		evs = append(evs, ticker(seq, day0+int64(i)*100+30, "BTC-USDT", 100+float64(i)))
		seq++
		evs = append(evs, trade(seq, day0+int64(i)*100+60, "BTC-USDT", int64(i), 100+float64(i)))
	}
	evs = append(evs, sessionRow(0, day0-1000, "tickers,trades,books", "BTC-USDT"))
	writeStore(t, dir, parquet.Options{MaxFileRows: 64}, evs)
	return dir
}

func dataTs(t *testing.T, m pushMsg) int64 {
	t.Helper()
	var d struct {
		Ts string `json:"ts"`
	}
	if len(m.Data) == 0 || json.Unmarshal(m.Data[0], &d) != nil {
		t.Fatalf("no ts in %s", m.Raw)
	}
	ts, err := strconv.ParseInt(d.Ts, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

// TestServeLateSubscriptionsJoinAtPlaybackTime: trades subscribed 5 s into playback arrive from that
// playback time (not from the start, not ahead); books subscribed late and then resubscribed get a fresh
// snapshot of the book at that time followed by chained updates, with synthetic seqIds (the data has none)
// and checksums a validating client verifies.
func TestServeLateSubscriptionsJoinAtPlaybackTime(t *testing.T) {
	for _, seqIDs := range []bool{false, true} {
		t.Run(fmt.Sprintf("seqIds=%v", seqIDs), func(t *testing.T) {
			url := startServer(t, ServeOptions{Source: NewParquetSource(depthStore(t, seqIDs)), Speed: 4})
			k := newOKXClient(t, url+"/ws/v5/public")
			k.send(`{"op":"subscribe","args":[{"channel":"tickers","instId":"BTC-USDT"}]}`)
			if m := k.next(); m.Event != "subscribe" {
				t.Fatalf("ack: %s", m.Raw)
			}
			var now int64 // playback time: the ts of the last ticker received
			for now < day0+5000 {
				m := k.next()
				if m.Arg.Channel != "tickers" {
					t.Fatalf("unexpected %s", m.Raw)
				}
				now = dataTs(t, m)
			}
			k.send(`{"op":"subscribe","args":[{"channel":"trades","instId":"BTC-USDT"},{"channel":"books","instId":"BTC-USDT"}]}`)
			var acks, trades, snaps int
			var lastBookTs int64
			for trades == 0 || snaps == 0 || k.books["books|BTC-USDT"].updates < 3 {
				m := k.next()
				switch {
				case m.Event == "subscribe":
					acks++
				case m.Arg.Channel == "tickers":
					now = dataTs(t, m)
				case m.Arg.Channel == "trades":
					if ts := dataTs(t, m); trades == 0 && (ts < now-100 || ts > now+1000) {
						t.Fatalf("first trade at %d, playback time %d", ts-day0, now-day0)
					}
					trades++
				case m.Action == "snapshot":
					if acks != 2 {
						t.Fatalf("snapshot before both acks")
					}
					snaps++
					if ts := dataTs(t, m); ts < now-200 || ts > now+200 {
						t.Fatalf("snapshot of %d at playback time %d", ts-day0, now-day0)
					}
				case m.Action == "update":
					lastBookTs = dataTs(t, m)
				}
			}
			vb := k.books["books|BTC-USDT"]
			if snaps != 1 || vb.verified < 3 {
				t.Fatalf("snapshots %d, verified checksums %d", snaps, vb.verified)
			}
			// Resubscribe: unsubscribe ack, then a fresh snapshot at the current time and chained updates.
			k.send(`{"op":"unsubscribe","args":[{"channel":"books","instId":"BTC-USDT"}]}`)
			for m := k.next(); m.Event != "unsubscribe"; m = k.next() {
			}
			k.send(`{"op":"subscribe","args":[{"channel":"books","instId":"BTC-USDT"}]}`)
			for m := k.next(); m.Event != "subscribe"; m = k.next() {
				if m.Arg.Channel == "books" {
					t.Fatalf("books data between unsubscribe and subscribe: %s", m.Raw)
				}
			}
			before := vb.updates
			for vb.snapshots < 2 || vb.updates < before+3 {
				m := k.next()
				if m.Action == "snapshot" && dataTs(t, m) < lastBookTs {
					t.Fatalf("resubscribe snapshot older than the updates already sent")
				}
			}
			if vb.verified < 6 {
				t.Fatalf("verified %d checksums", vb.verified)
			}
		})
	}
}

// TestServeRendersRESTSnapshotJoin: a book stream that starts with a REST snapshot (seqId 5000, checksum 0,
// as ingest stores it) followed by stored updates that overlap it (seqIds up to 5000, already in the snapshot)
// and then the chain joined through it, served re-rendered: the client gets the snapshot with a correct
// checksum, then only the updates after it, chained.
func TestServeRendersRESTSnapshotJoin(t *testing.T) {
	lv := func(px, sz float64) []schema.Level { return []schema.Level{{Px: px, Sz: sz, Orders: 1}} }
	bk := func(seq uint64, ts int64, act string, s, prev int64, bids, asks []schema.Level) *schema.Book {
		return &schema.Book{Header: schema.Header{Seq: seq, RecvNs: ts * 1e6, Channel: "books", InstID: "BTC-USDT", Ts: ts},
			Action: act, SeqID: s, PrevSeqID: prev, Bids: bids, Asks: asks}
	}
	evs := []schema.Stored{
		bk(1, day0, schema.ActionSnapshot, 5000, -1, append(lv(99, 1), lv(98, 2)...), append(lv(101, 1), lv(102, 3)...)),
		bk(2, day0+1, schema.ActionUpdate, 4990, 4980, lv(97, 1), nil),    // before the snapshot: skipped
		bk(3, day0+2, schema.ActionUpdate, 5000, 4990, lv(96, 1), nil),    // up to the snapshot: skipped
		bk(4, day0+3, schema.ActionUpdate, 5003, 4995, lv(99, 0), nil),    // joins through the snapshot
		bk(5, day0+4, schema.ActionUpdate, 5004, 5003, nil, lv(101.5, 2)), // chained
		sessionRow(0, day0-1000, "books", "BTC-USDT"),
	}
	url := serveEvents(t, evs)
	k := newOKXClient(t, url+"/ws/v5/public")
	k.send(`{"op":"subscribe","args":[{"channel":"books","instId":"BTC-USDT"}]}`)
	k.next() // ack
	var seqs []int64
	for i := 0; i < 3; i++ {
		m := k.next()
		var d bookData
		if err := json.Unmarshal(m.Data[0], &d); err != nil {
			t.Fatal(err)
		}
		if *d.Checksum == 0 {
			t.Fatalf("checksum 0 before the deprecation: %s", m.Raw)
		}
		seqs = append(seqs, *d.SeqID)
	}
	vb := k.books["books|BTC-USDT"]
	if fmt.Sprint(seqs) != "[5000 5003 5004]" || vb.verified != 3 || len(vb.bids) != 1 || vb.bids["98"] != "2" ||
		vb.asks["101.5"] != "2" {
		t.Fatalf("seqIds %v, verified %d, book %v / %v", seqs, vb.verified, vb.bids, vb.asks)
	}
}
