# Gavel developer tasks. POSIX make: no GNU extensions.

GO       = go
PGRUN    = $(GO) run ./internal/testpg/pgrun
FUZZTIME = 10s
# Fuzz targets as package:FuzzName, space-separated, e.g.
# ./realtime:FuzzEncodeEvent ./domain:FuzzApplyBid
FUZZ     = ./domain:FuzzParseAmount ./domain:FuzzFormatAmount ./domain:FuzzPlaceBid ./domain:FuzzTextProblem \
           ./realtime:FuzzEncode ./realtime:FuzzParseCursor ./web:FuzzJSONBodies \
           ./invoicing:FuzzCSVCell \
           ./salecsv:FuzzParse \
           ./media:FuzzProcess ./media:FuzzTIFFOrientation ./web:FuzzSplitMultipart \
           ./search:FuzzSearchText

.PHONY: all build run test bench lint fuzz clean

all: lint test build

# A static binary: the SQLite driver is pure Go.
build:
	mkdir -p bin
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/gavel ./cmd/gavel

run: build
	@echo "Gavel: http://localhost:8080"
	./bin/gavel serve

# One throwaway PostgreSQL for every package (or TEST_DATABASE_URL if set).
test:
	$(PGRUN) -- $(GO) test -race -count=1 -timeout 45m ./...

# Durable commits (fsync on), so numbers include what a real commit costs.
# The storm and photos print markdown tables for docs/BENCHMARKS.md, with
# their baselines measured in the same run; bench-sse is the realtime fan-out.
# The last step is the live catalogue sale #14's cascade target is read
# from (~11 minutes; its baselines are a bid that moves nothing and a bid
# on a single listing in the same run); bench-sale adds the fresh-cluster
# run and the statements one by one.
bench: build
	$(PGRUN) -durable -- ./bin/gavel bench storm --bidders 512 --duration 10s
	$(PGRUN) -durable -- $(GO) test -run '^$$' -bench . -benchtime=2s ./realtime/
	$(GO) test -run '^$$' -bench BenchmarkJudgeBatch -benchtime 2000x -count 3 ./bidding/
	$(PGRUN) -durable -- ./bin/gavel bench photos
	$(PGRUN) -durable -- ./bin/gavel bench sse --kill-node --conns 18000 --victim 16000 --nodes 2 --client-nice 0
	$(PGRUN) -durable -- $(GO) test -run '^$$' -bench 'BenchmarkSaleBids$$' -benchtime 200x ./bidding/
	$(PGRUN) -durable -- ./bin/gavel bench sale --recycle-wal

# Realtime fan-out: 10,000 then 100,000 SSE connections over realtime node
# processes, with the raw write floor measured in the same run
# (docs/BENCHMARKS.md). The second run takes several minutes and ~5 GiB.
.PHONY: bench-sse
bench-sse:
	mkdir -p bin
	$(GO) build -o bin/gavel ./cmd/gavel
	$(PGRUN) -durable -- ./bin/gavel bench sse --conns 10000
	$(PGRUN) -durable -- ./bin/gavel bench sse --conns 100000

# Catalogue sale (#14): 500 lots 1 s apart in cascade mode, 2,000 catalogue
# streams held by watcher processes at nice 19, snipers on the closing
# lots, on a fresh cluster and again with its WAL segments recycled as on a
# server in service; then a 499-lot cascade's commit alone against same-run
# baselines, and its statements one by one with pgbench
# (docs/BENCHMARKS.md). About 28 minutes.
.PHONY: bench-sale
bench-sale:
	mkdir -p bin
	$(GO) build -o bin/gavel ./cmd/gavel
	$(PGRUN) -durable -- ./bin/gavel bench sale
	$(PGRUN) -durable -- ./bin/gavel bench sale --recycle-wal
	$(PGRUN) -durable -- $(GO) test -run '^$$' -bench BenchmarkSaleBids -benchtime 200x ./bidding/
	$(PGRUN) -durable -- sh internal/bench/sqlbench/cascade-statements.sh bin/gavel

# The hostile-client suite (internal/hostile, docs/SECURITY.md) in full,
# against bin/gavel on SQLite and on a throwaway PostgreSQL; it prints a
# table and fails if any scenario found something wrong. About 10-15
# minutes on a quiet machine. A short version runs in make test
# (TestHostileShort).
.PHONY: security
security: build
	$(PGRUN) -- $(GO) run ./internal/hostile/cmd/hostile -gavel bin/gavel

# Search over 1,000,000 lots: seeds them by COPY (~10 minutes here), then
# times each query shape with the old title LIKE listing as the same-run
# baseline (docs/BENCHMARKS.md, docs/SEARCH.md).
.PHONY: bench-search
bench-search: build
	$(PGRUN) -durable -- ./bin/gavel bench search

# The fault suite (docs/RELIABILITY.md): the shape of docker-compose.yml
# on loopback from processes (PostgreSQL with fsync on, three NATS servers,
# two API and two realtime nodes), a bid storm and SSE watchers through
# every fault, the checks as a table, and the self-test that shows each
# checker can fail. About eight minutes. `make cluster` starts the same
# cluster for a person, until Ctrl-C.
.PHONY: chaos cluster chaos-bin
chaos-bin:
	mkdir -p bin
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/gavel ./cmd/gavel
	$(GO) build -o bin/natsd ./internal/chaos/cmd/natsd
	$(GO) build -o bin/chaos ./internal/chaos/cmd/chaos

chaos: chaos-bin
	./bin/chaos run

cluster: chaos-bin
	./bin/chaos cluster

lint:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt -l:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

fuzz:
	@for t in $(FUZZ); do \
		pkg=$${t%%:*}; fn=$${t#*:}; \
		echo "fuzz $$fn in $$pkg for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) "$$pkg" || exit 1; \
	done

# docs/screenshots/auction.png and admin.png, which the README shows, taken
# by the real-browser test of an auction (it needs Chromium) mid-auction;
# the other browser tests take none, so they are not run.
.PHONY: screenshots
screenshots:
	mkdir -p docs/screenshots
	GAVEL_SCREENSHOTS="$$(pwd)/docs/screenshots" $(PGRUN) -- $(GO) test -count=1 -timeout 900s -run '^TestBrowserAuction$$' ./cmd/gavel/

clean:
	rm -rf bin
