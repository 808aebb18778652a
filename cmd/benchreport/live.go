package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"sync"
	"syscall"
	"time"

	"github.com/okxtape/okxtape/store/parquet"

	"github.com/okxtape/okxtape/engine"
	"github.com/okxtape/okxtape/ingest"
	"github.com/okxtape/okxtape/ingest/decode"
	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/sim"
	"github.com/okxtape/okxtape/store"
)

const liveInsts = 20

// liveLatency runs simulator → client → engine → strategy callback over loopback, with the Parquet recorder
// on (or off), at frames/s trades frames, and returns latency percentiles in µs measured from the send time
// the simulator embeds in each tradeId. With simBin set the simulator is the okxsim binary in its own
// process (as the exchange is); otherwise it runs in this process.
func liveLatency(frames int, dur time.Duration, recorder bool, simBin string) (map[string]float64, error) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	var addr string
	if simBin != "" {
		addr = freePort()
		cmd := exec.Command(simBin, "--listen", addr, "--instruments", fmt.Sprint(liveInsts),
			"--rate", fmt.Sprint(frames/liveInsts), "--embed-send-time", "--max-conn-per-sec", "-1", "--log-level", "error")
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		defer func() { cmd.Process.Signal(syscall.SIGINT); cmd.Wait() }()
		if err := waitHTTP("http://" + addr + "/stats"); err != nil {
			return nil, err
		}
	} else {
		srv, err := sim.New(sim.Config{Instruments: liveInsts, Rate: float64(frames) / liveInsts, EmbedSendTime: true, Logger: quiet,
			Faults: sim.Faults{MaxConnPerSec: -1}})
		if err != nil {
			return nil, err
		}
		if addr, err = srv.Start("127.0.0.1:0"); err != nil {
			return nil, err
		}
		defer srv.Close()
	}

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
	var err error
	dir, _ := os.MkdirTemp("", "okxtape-bench-live")
	defer os.RemoveAll(dir)
	if recorder {
		rec, err = store.NewRecorder(store.RecorderOptions{SpoolDir: dir + "/.spool", Logger: quiet}, parquet.NewSink(dir, parquet.Options{Logger: quiet}))
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

func waitHTTP(url string) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("simulator did not come up: %w", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
