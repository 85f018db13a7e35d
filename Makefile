# replicant: build, test, demo. Every target installs what it needs.
export PATH := /usr/local/go/bin:$(PATH)
GO      ?= go
BIN     := bin/replicant
FUZZTIME ?= 5s

.PHONY: all build deps test unit integration fuzz-short fuzz demo lint clean bench bench-bigkeys

all: build

build:
	$(GO) build -o $(BIN) ./cmd/replicant

deps:
	@bash scripts/install-deps.sh

# make test: vet, unit tests (every fuzz target over its seed corpus and the saved
# inputs under testdata/fuzz), integration tests against real servers. The fuzz engine
# itself runs in make fuzz: its run time is not deterministic (minimizing a new input
# can outlast -fuzztime), so it stays out of CI.
test: deps
	$(GO) vet ./...
	$(GO) test -count=1 $$($(GO) list ./... | grep -v /test)
	$(GO) test -count=1 -timeout 45m ./test/...

unit:
	$(GO) test -count=1 $$($(GO) list ./... | grep -v /test)

integration: deps
	$(GO) test -count=1 -timeout 45m -v ./test/...

FUZZFLAGS = -run '^$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 10x
fuzz-short:
	$(GO) test $(FUZZFLAGS) -fuzz '^FuzzReadCommand$$' ./resp
	$(GO) test $(FUZZFLAGS) -fuzz '^FuzzReadReply$$' ./resp
	$(GO) test $(FUZZFLAGS) -fuzz '^FuzzDecoder$$' ./rdbstream
	$(GO) test $(FUZZFLAGS) -fuzz '^FuzzKey$$' ./rewrite
	$(GO) test $(FUZZFLAGS) -fuzz '^FuzzOpen$$' ./spool

# make fuzz: the same targets, longer.
fuzz:
	$(MAKE) --no-print-directory fuzz-short FUZZTIME=2m

# make demo: a source and a target redis-server on free loopback ports, a
# sample dataset, a full sync, live writes, and the two datasets compared.
demo: deps build
	$(GO) run ./test/demo --replicant $(BIN)

lint:
	gofmt -l . | tee /dev/stderr | (! read)
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

clean:
	rm -rf bin

# make bench: full sync (native replication vs redis-cli --pipe vs replicant), the live
# stream (sustained writes/s, CPU per million writes, latency at 10k writes/s, against a
# native replica; medians of 3), and full sync and live stream into a 3-master cluster and
# a 3-server twemproxy pool (straight to the servers and through the proxy), written to
# docs/benchmarks.md and docs/live-stream.png.
bench: deps
	$(GO) build -o $(BIN) ./cmd/replicant
	$(GO) run ./test/bench --replicant $(BIN) --live --live-runs 3 --cluster --twemproxy

# make bench-bigkeys: peak RSS and time of replicant on a 1 GiB hash, a
# 10M-member sorted set, a 10M-element list and a 512 MiB string, each
# alone, written to the big-keys section of docs/benchmarks.md.
bench-bigkeys: deps
	$(GO) build -o $(BIN) ./cmd/replicant
	$(GO) run ./test/bench --replicant $(BIN) --datasets '' --bigkeys
