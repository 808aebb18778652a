//go:build tools

// This file pins the project's dependencies in go.mod while the packages that use them are being written.
package okxtape

import (
	_ "github.com/ClickHouse/clickhouse-go/v2"
	_ "github.com/apache/arrow-go/v18/parquet/pqarrow"
	_ "github.com/cenkalti/backoff/v4"
	_ "github.com/gorilla/websocket"
	_ "github.com/prometheus/client_golang/prometheus/promhttp"
	_ "github.com/schollz/progressbar/v3"
	_ "github.com/urfave/cli/v2"
	_ "golang.org/x/term"
)
