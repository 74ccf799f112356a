# Kaigi's two commands:
#   make run    build the web client and start a server at http://127.0.0.1:8080/
#   make test   install what is missing, then run every test (see scripts/test.sh)
#   make release  the web client and a reproducible binary, bin/kaigi (+ .sha256)

GO ?= go
ARGS ?=

.PHONY: run test web build release check clean

run: web
	$(GO) run ./cmd/kaigi serve $(ARGS)

test:
	./scripts/test.sh

# The web client: npm ci when package-lock.json changed, then bundle into web/dist.
web: web/node_modules/.package-lock.json
	cd web && npm run build

web/node_modules/.package-lock.json: web/package-lock.json web/package.json
	cd web && npm ci --no-audit --no-fund

build: web
	$(GO) build -o bin/kaigi ./cmd/kaigi

# A release binary anyone can rebuild bit for bit from the same source, Go
# toolchain (go.mod's) and GOOS/GOARCH (docs/operations.md, "Reproducible
# builds"): no cgo (no C toolchain in the result), no file system paths
# (-trimpath), no version-control stamp (-buildvcs=false: a checkout and a
# source tarball give the same bytes).
RELEASE_FLAGS = -trimpath -buildvcs=false
release: web
	CGO_ENABLED=0 $(GO) build $(RELEASE_FLAGS) -o bin/kaigi ./cmd/kaigi
	cd bin && sha256sum kaigi > kaigi.sha256 && cat kaigi.sha256
	bin/kaigi version

check: web/node_modules/.package-lock.json
	test -z "$$(gofmt -l .)" || { gofmt -l .; exit 1; }
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...
	cd web && npm run check

clean:
	rm -rf bin web/dist/assets web/dist/index.html
