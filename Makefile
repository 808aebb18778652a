# okxtape — see README.md. Every target runs offline.
SHELL    := /bin/bash
GO       ?= go
VERSION  ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X main.version=$(VERSION)
BIN      := bin
PKGS     := ./...

.PHONY: all build test test-short lint vet fmt bench soak demo clean tools

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/ ./cmd/...

## test: formatting, vet, and every test with the race detector (ClickHouse tests need a server:
## scripts/clickhouse-start.sh; with OKXTAPE_REQUIRE_CLICKHOUSE=1 they fail instead of skipping).
## Skipped tests are listed at the end with the reason each gave (scripts/testsummary).
test: lint
	@set -o pipefail; $(GO) test -race -count=1 -timeout 20m -json $(PKGS) | $(GO) run ./scripts/testsummary

test-short:
	$(GO) test -count=1 -short $(PKGS)

lint: fmt vet

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

## bench: the benchmark suite; ends with one JSON object of named figures (also in bench/latest.json).
bench: build
	$(GO) run ./cmd/benchreport -out bench/latest.json

## soak: an hour of recording from the simulator, reporting RSS growth (not part of CI).
soak: build
	$(GO) run ./cmd/benchreport -soak 1h -out bench/soak.json

## demo: simulator → record (Parquet) → replay with the digest parity check → a query of what was stored.
demo: build
	./scripts/demo.sh

clean:
	rm -rf $(BIN) demo-data
