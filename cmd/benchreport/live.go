package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/okxtape/okxtape/engine"
	"github.com/okxtape/okxtape/ingest"
	"github.com/okxtape/okxtape/ingest/decode"
	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/sim"
	"github.com/okxtape/okxtape/store"
)

// liveLatency runs simulator → client → engine → strategy callback over loopback, with the Parquet recorder
// on (or off), at frames/s trades frames, and returns latency percentiles in µs measured from the send time
// the simulator embeds in each tradeId.
func liveLatency(frames int, dur time.Duration, recorder bool) (map[string]float64, error) {
	const insts = 20
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := sim.New(sim.Config{Instruments: insts, Rate: float64(frames) / insts, EmbedSendTime: true, Logger: quiet,
		Faults: sim.Faults{MaxConnPerSec: -1}})
	if err != nil {
		return nil, err
	}
	addr, err := srv.Start("127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	defer srv.Close()

	eng := engine.New(engine.Options{Mode: engine.Live, Logger: quiet})
	var (
		mu   sync.Mutex
		lat  = make([]int64, 0, frames*int(dur/time.Second+1))
		warm = time.Now().Add(2 * time.Second)
	)
	engine.On(eng, "latency", func(t *schema.Trade) {
		now := time.Now()
		if now.Before(warm) {
			return
		}
		mu.Lock()
		lat = append(lat, now.UnixNano()-t.TradeID)
		mu.Unlock()
	})
	var rec *store.Recorder
	dir, _ := os.MkdirTemp("", "okxtape-bench-live")
	defer os.RemoveAll(dir)
	if recorder {
		rec, err = store.NewRecorder(store.RecorderOptions{SpoolDir: dir + "/.spool", Logger: quiet}, store.NewParquetSink(dir, store.ParquetOptions{Logger: quiet}))
		if err != nil {
			return nil, err
		}
		if err := rec.Start(context.Background()); err != nil {
			return nil, err
		}
		eng.OnAll("recorder", rec.Handle)
	}
	list, err := ingest.FetchInstruments(context.Background(), "http://"+addr, "SPOT", false)
	if err != nil {
		return nil, err
	}
	var subs []decode.Arg
	for _, in := range list {
		subs = append(subs, decode.Arg{Channel: "trades", InstID: in.InstID})
	}
	client, err := ingest.New(ingest.Config{WSURL: "ws://" + addr, RESTURL: "http://" + addr, Subscriptions: subs,
		RawFrames: recorder, Logger: quiet, Emit: eng.Emit})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), dur+2*time.Second)
	defer cancel()
	if err := client.Run(ctx); err != nil {
		return nil, fmt.Errorf("live run: %w", err)
	}
	if rec != nil {
		if err := rec.Close(context.Background()); err != nil {
			return nil, err
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(lat) == 0 {
		return nil, fmt.Errorf("live run: no trades received")
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	q := func(p float64) float64 { return round(float64(lat[int(p*float64(len(lat)-1))])/1e3, 1) }
	return map[string]float64{"p50": q(0.5), "p99": q(0.99), "p999": q(0.999), "n": float64(len(lat)),
		"frames_per_s": round(float64(len(lat))/dur.Seconds(), 0)}, nil
}
