package replay

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/okxtape/okxtape/store/parquet"

	"github.com/okxtape/okxtape/engine"
	"github.com/okxtape/okxtape/ingest/book"
	"github.com/okxtape/okxtape/ingest/decode"
	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/store"
	"github.com/okxtape/okxtape/strategies"
)

// recordLike builds a store the way the live recorder does: every push frame is stored raw with its own
// seq, then decoded (books through a book.Manager) and each resulting event stamped with the next seq.
func recordLike(t *testing.T, dir string) {
	var pushes []schema.Stored
	seqID := int64(1000)
	for i := 0; i < 300; i++ {
		ts := day0 + int64(i)*10
		inst := []string{"BTC-USDT", "ETH-USDT"}[i%2]
		pushes = append(pushes, ticker(0, ts, inst, 100+float64(i%13)))
		if i%4 == 0 {
			pushes = append(pushes, trade(0, ts+1, inst, int64(i), 100+float64(i%7)))
		}
		if i%2 == 0 { // BTC-USDT books: snapshot, updates, a broken chain at i=150, a new snapshot at i=200
			b := &schema.Book{Header: schema.Header{Channel: "books", InstID: "BTC-USDT", Ts: ts + 2}}
			switch {
			case i == 0 || i == 200:
				b.Action, b.PrevSeqID = schema.ActionSnapshot, -1
				b.Bids = []schema.Level{{Px: 99, Sz: 1, Orders: 1}, {Px: 98, Sz: 2, Orders: 1}}
				b.Asks = []schema.Level{{Px: 101, Sz: 1, Orders: 1}, {Px: 102, Sz: 2, Orders: 3}}
			default:
				b.Action, b.PrevSeqID = schema.ActionUpdate, seqID
				if i == 150 {
					b.PrevSeqID = seqID - 5
				}
				b.Bids = []schema.Level{{Px: 99 - float64(i%3), Sz: float64(i % 5), Orders: 1}}
			}
			seqID++
			b.SeqID = seqID
			pushes = append(pushes, b)
		}
	}
	var out []schema.Stored
	seq := uint64(5000)
	emit := func(e schema.Event) {
		c := schema.Clone(e.(schema.Stored))
		seq++
		c.Hdr().Seq = seq
		out = append(out, c)
	}
	mgr := book.NewManager(book.Options{Emit: emit})
	defer mgr.Close()
	dec := decode.NewDecoder()
	for _, p := range pushes {
		frame, _ := AppendPush(nil, p)
		seq++
		recv := p.Hdr().Ts + 3
		out = append(out, &schema.Raw{Header: schema.Header{Seq: seq, RecvNs: recv * 1e6, Channel: p.Hdr().Channel,
			InstID: p.Hdr().InstID, Ts: recv}, Endpoint: schema.EndpointPublic, Frame: string(frame)})
		var env decode.Envelope
		if err := dec.Envelope(frame, &env); err != nil {
			t.Fatal(err)
		}
		if _, err := dec.Push(&env, frame, recv*1e6, func(e schema.Event) {
			if b, ok := e.(*schema.Book); ok {
				mgr.Apply(b, dec.BookRaw())
				return
			}
			emit(e)
		}); err != nil {
			t.Fatal(err)
		}
	}
	seq++
	out = append(out, &schema.Gap{Header: schema.Header{Seq: seq, Ts: day0 + 500}, FromMs: day0 + 500, ToMs: day0 + 700,
		Reason: schema.GapDisconnect, Conn: "public#0"})
	writeStore(t, dir, parquet.Options{MaxFileRows: 200}, out)
}

func digestOfStore(t *testing.T, dir string) strategies.DigestSummary {
	s, err := Open(context.Background(), NewParquetSource(dir), store.Query{}, ReplayTables())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	e := NewEngine(s, store.Query{}, engine.Options{})
	d := strategies.NewDigest()
	d.Attach(e)
	if _, err := Run(context.Background(), e, s, RunOptions{}); err != nil {
		t.Fatal(err)
	}
	return d.Summary().(strategies.DigestSummary)
}

func TestRenormaliseRebuildsTheSameDatasets(t *testing.T) {
	dir := t.TempDir()
	recordLike(t, dir)
	out := filepath.Join(t.TempDir(), "renormalised")
	st, err := Renormalise(context.Background(), RenormaliseOptions{Dir: dir, Out: out})
	if err != nil {
		t.Fatal(err)
	}
	if st.Frames == 0 || st.Bad != 0 || st.Copied["gaps"] != 1 {
		t.Fatalf("stats %+v", st)
	}
	want, got := digestOfStore(t, dir), digestOfStore(t, out)
	if want.Gaps < 3 { // the disconnect, the sequence break and its resync
		t.Fatalf("the original has %d gaps; the test wants a broken book chain", want.Gaps)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("renormalised digest %+v\n original %+v", got, want)
	}
	// Deterministic: a second run gives byte-identical files.
	out2 := filepath.Join(t.TempDir(), "again")
	if _, err := Renormalise(context.Background(), RenormaliseOptions{Dir: dir, Out: out2}); err != nil {
		t.Fatal(err)
	}
	if a, b := digestOfStore(t, out2), got; !reflect.DeepEqual(a, b) {
		t.Fatal("two renormalise runs differ")
	}
	// Refuses to overwrite.
	if _, err := Renormalise(context.Background(), RenormaliseOptions{Dir: dir, Out: out}); err == nil {
		t.Fatal("renormalise wrote into a folder that already holds a store")
	}
	if _, err := Renormalise(context.Background(), RenormaliseOptions{Dir: dir, Out: dir}); err == nil {
		t.Fatal("renormalise wrote into its own store")
	}
	_ = os.RemoveAll(out2)
}
