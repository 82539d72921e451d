# Gavel developer tasks. POSIX make: no GNU extensions.

GO       = go
PGRUN    = $(GO) run ./internal/testpg/pgrun
FUZZTIME = 10s
# Fuzz targets as package:FuzzName, space-separated, e.g.
# ./realtime:FuzzEncodeEvent ./domain:FuzzApplyBid
FUZZ     =

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
	$(PGRUN) -- $(GO) test -race -count=1 ./...

# Durable commits (fsync on), so numbers include what a real commit costs.
bench:
	$(PGRUN) -durable -- $(GO) test -run '^$$' -bench . -benchtime=1x ./...

lint:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt -l:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

fuzz:
	@for t in $(FUZZ); do \
		pkg=$${t%%:*}; fn=$${t#*:}; \
		echo "fuzz $$fn in $$pkg for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) "$$pkg" || exit 1; \
	done

clean:
	rm -rf bin
