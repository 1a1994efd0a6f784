# Floe's tasks. `make` alone lists them.
.DEFAULT_GOAL := help
GO ?= go
BIN := bin/floe
# `floe version` prints them; a tree without git says dev.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS := -X github.com/floemq/floe/services.Version=$(VERSION) -X github.com/floemq/floe/services.Commit=$(COMMIT)
# Flags of `make dev`, e.g. make dev ARGS="--require-auth --listen 127.0.0.1:9090".
ARGS ?=

.PHONY: help build dev test test-short bench soak lint fuzz minio clean chaos

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-11s %s\n", $$1, $$2}'

build: ## build bin/floe
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/floe

dev: build ## run Floe on the embedded default (private Postgres + local folder) at 127.0.0.1:8080 (flags: ARGS="...")
	./$(BIN) dev $(ARGS)

test: ## run all tests: unit and integration, against real Postgres and MinIO (sets them up itself)
	./scripts/test.sh

test-short: ## unit tests only (no MinIO build)
	$(GO) test -short -count=1 ./...

WORKLOAD ?= workloads/1-topic-16-partitions-1kb.yaml

bench: build ## run a workload (WORKLOAD=workloads/….yaml) against Postgres + MinIO on this machine
	./scripts/bench.sh --workload $(WORKLOAD)

SOAK_ARGS ?=

soak: build ## hold every role under load for SOAK_DURATION (30m) at 15,000 msg/s, sampling memory, Postgres, bucket, compaction (SOAK_ARGS="--rate 5000")
	./scripts/soak.sh $(SOAK_ARGS)

lint: ## gofmt, go vet, staticcheck
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@2025.1.1 ./...

fuzz: ## run each fuzz target for 30 s
	$(GO) test -run='^$$' -fuzz=FuzzDecodeChunk -fuzztime=30s ./segment/
	$(GO) test -run='^$$' -fuzz=FuzzDecodeFooter -fuzztime=30s ./segment/
	$(GO) test -run='^$$' -fuzz=FuzzDecodeRecords -fuzztime=30s ./segment/
	$(GO) test -run='^$$' -fuzz=FuzzSplitChunks -fuzztime=30s ./segment/
	$(GO) test -run='^$$' -fuzz=FuzzDecodeReceipt -fuzztime=30s ./reader/
	$(GO) test -run='^$$' -fuzz=FuzzDecodeRecallHandle -fuzztime=30s ./ingest/
	$(GO) test -run='^$$' -fuzz=FuzzDecode -fuzztime=30s ./trace/
	$(GO) test -run='^$$' -fuzz=FuzzParseAuthorization -fuzztime=30s ./grpcapi/
	$(GO) test -run='^$$' -fuzz=FuzzResolve -fuzztime=30s ./grpcapi/
	$(GO) test -run='^$$' -fuzz=FuzzDecodeHandlesRequest -fuzztime=30s ./httpapi/
	$(GO) test -run='^$$' -fuzz=FuzzParseWorkload -fuzztime=30s ./bench/
	$(GO) test -run='^$$' -fuzz=FuzzDecodeSendRequest -fuzztime=30s ./httpapi/
	$(GO) test -run='^$$' -fuzz=FuzzDecodeReceiveResponse -fuzztime=30s ./client/
	$(GO) test -run='^$$' -fuzz=FuzzDecodeSendResponse -fuzztime=30s ./client/
	$(GO) test -run='^$$' -fuzz=FuzzDecodeAckResponse -fuzztime=30s ./client/
	$(GO) test -run='^$$' -fuzz=FuzzParse -fuzztime=30s ./sqlfilter/

chaos: ## kill and pause every part under load, then check every ack (CHAOS_DURATION=5m CHAOS_SEEDS=1)
	./scripts/chaos.sh

minio: ## build the pinned MinIO server into the cache (tests do this themselves)
	./scripts/minio.sh

clean: ## remove build output
	rm -rf bin
