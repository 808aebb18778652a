package main

import (
	"context"
	"io"
	"log/slog"
	"math"
	"math/rand"
	"net"

	"github.com/okxtape/okxtape/store/parquet"

	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/store"
)

// writeTickers stores n realistic synthetic tickers (random-walk prices, cumulative volumes) as Parquet.
func writeTickers(dir string, n int) error {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	sink := parquet.NewSink(dir, parquet.Options{Logger: quiet})
	ctx := context.Background()
	if err := sink.Open(ctx); err != nil {
		return err
	}
	rng := rand.New(rand.NewSource(1))
	insts := []string{"BTC-USDT", "ETH-USDT", "SOL-USDT", "XRP-USDT", "DOGE-USDT", "ADA-USDT", "TRX-USDT", "LINK-USDT"}
	px := []float64{60000, 3000, 150, 0.6, 0.15, 0.45, 0.12, 14}
	vol := make([]float64, len(insts))
	batch := make([]schema.Stored, 0, 10000)
	t0 := int64(1764547200000) // 2025-12-01
	for i := 0; i < n; i++ {
		k := rng.Intn(len(insts))
		px[k] *= 1 + (rng.Float64()-0.5)*1e-4
		sz := math.Round(rng.ExpFloat64()*1000) / 1000
		vol[k] += sz
		p := math.Round(px[k]*100) / 100
		ts := t0 + int64(i)*3
		batch = append(batch, &schema.Ticker{
			Header:   schema.Header{Seq: uint64(i + 1), RecvNs: ts*1e6 + int64(rng.Intn(900000)), Channel: "tickers", InstID: insts[k], Ts: ts},
			InstType: "SPOT", Last: p, LastSz: sz, BidPx: p - 0.01, BidSz: sz * 2, AskPx: p + 0.01, AskSz: sz * 3,
			Open24h: 100, High24h: 110, Low24h: 90, Vol24h: vol[k], VolCcy24h: vol[k] * p, SodUtc0: 100, SodUtc8: 101,
		})
		if len(batch) == cap(batch) || i == n-1 {
			if err := sink.Write(ctx, store.Batch{Table: schema.TickerTable, Events: batch}); err != nil {
				return err
			}
			batch = batch[:0]
		}
	}
	return sink.Close(ctx)
}

func freePort() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "127.0.0.1:18999"
	}
	defer l.Close()
	return l.Addr().String()
}
