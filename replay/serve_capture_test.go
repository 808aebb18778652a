package replay

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/okxtape/okxtape/ingest/decode"
	"github.com/okxtape/okxtape/internal/testenv"
	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/store/parquet"
)

// captureStore decodes the capture's pushes with ingest's decoder and stores the rows without raw frames,
// as `record --raw-frames=false` would. It returns the store and the number of book rows per instrument.
func captureStore(t *testing.T) (string, map[string]int64) {
	// A real OKX capture of 2022-05-13 (books with checksums and no seqIds, trades, tickers).
	f, err := os.Open(filepath.Join(testenv.FixtureDir(t), "OKX.ws.1.0"))
	testenv.Fixtures.Check(t, err)
	defer f.Close()
	dec := decode.NewDecoder()
	var env decode.Envelope
	var evs []schema.Stored
	var seq uint64
	books := map[string]int64{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<22)
	for sc.Scan() {
		line := sc.Bytes()
		i := bytes.Index(line, []byte(": {"))
		if i < 0 || bytes.Contains(line[:i], []byte("<")) {
			continue // connection markers and sent requests
		}
		secs, err := strconv.ParseFloat(string(line[:i]), 64)
		if err != nil {
			t.Fatalf("line %.60q: %v", line, err)
		}
		frame := line[i+2:]
		if dec.Envelope(frame, &env) != nil || env.Kind != decode.FramePush {
			continue
		}
		if _, err := dec.Push(&env, frame, int64(secs*1e9), func(e schema.Event) {
			s := schema.Clone(e.(schema.Stored))
			seq++
			s.Hdr().Seq = seq
			evs = append(evs, s)
			if s.Hdr().Channel == "books" {
				books[s.Hdr().InstID]++
			}
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	evs = append(evs, sessionRow(0, evs[0].Hdr().Ts-1000, "tickers,trades,books", "BTC-USDT,BTC-USD-220527,UNI-USD-SWAP"))
	dir := t.TempDir()
	writeStore(t, dir, parquet.Options{}, evs)
	return dir, books
}

// TestServeCaptureRerenderedKeepsValidatedBooks serves the 2022 capture re-rendered (no raw frames, no
// seqIds) to a client that checks every seqId chain and checksum: one subscribing books from the start,
// one subscribing 4 s into playback (snapshots rebuilt at that time), each until the last stored update.
func TestServeCaptureRerenderedKeepsValidatedBooks(t *testing.T) {
	dir, rows := captureStore(t)
	if len(rows) != 3 || rows["BTC-USDT"] == 0 {
		t.Fatalf("book rows %v", rows)
	}
	url := startServer(t, ServeOptions{Source: NewParquetSource(dir), Speed: 10})
	booksReq := `{"op":"subscribe","args":[{"channel":"books","instId":"BTC-USDT"},{"channel":"books","instId":"BTC-USD-220527"},{"channel":"books","instId":"UNI-USD-SWAP"}]}`
	untilLast := func(k *okxClient) {
		for done := false; !done; {
			k.next()
			done = true
			for inst, n := range rows {
				if vb := k.books["books|"+inst]; vb == nil || vb.seq < n {
					done = false
				}
			}
		}
		for inst, vb := range k.books {
			if vb.verified == 0 || vb.snapshots != 1 {
				t.Fatalf("%s: %d snapshots, %d checksums verified", inst, vb.snapshots, vb.verified)
			}
		}
	}
	first := newOKXClient(t, url+"/ws/v5/public")
	first.send(booksReq)
	untilLast(first)
	if first.books["books|BTC-USDT"].updates+1 != int(rows["BTC-USDT"]) {
		t.Fatalf("from the start: %d updates of %d rows", first.books["books|BTC-USDT"].updates, rows["BTC-USDT"])
	}

	late := newOKXClient(t, url+"/ws/v5/public")
	late.send(`{"op":"subscribe","args":[{"channel":"tickers","instId":"BTC-USDT"},{"channel":"trades","instId":"BTC-USDT"}]}`)
	var start, now int64
	for now == 0 || now < start+4000 {
		m := late.next()
		if m.Event != "" {
			continue
		}
		now = dataTs(t, m)
		if start == 0 {
			start = now
		}
	}
	late.send(booksReq)
	untilLast(late)
	if u := late.books["books|BTC-USDT"].updates; u+1 >= int(rows["BTC-USDT"]) {
		t.Fatalf("late subscriber got %d updates of %d rows: it did not join late", u, rows["BTC-USDT"])
	}
}
