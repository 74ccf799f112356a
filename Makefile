# Kaigi's two commands:
#   make run    build the web client and start a server at http://127.0.0.1:8080/
#   make test   install what is missing, then run every test (see scripts/test.sh)

GO ?= go
ARGS ?=

.PHONY: run test web build check clean

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

check: web/node_modules/.package-lock.json
	test -z "$$(gofmt -l .)" || { gofmt -l .; exit 1; }
	$(GO) vet ./...
	cd web && npm run check

clean:
	rm -rf bin web/dist/assets web/dist/index.html
