# trailwatch build and test targets. `make test` is what CI runs; it installs
# everything the tests need from this repository's own files.

GO       ?= go
PKGS     ?= ./...
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -buildid= -X github.com/trailwatch/trailwatch/internal/cli.Version=$(VERSION)

.PHONY: test check-format vet unit memtest browser ruletests lint-deploy lambda-zip clean

test: check-format vet unit memtest ruletests lint-deploy

# Screenshots and other files tests keep for a person to look at.
export TRAILWATCH_ARTIFACTS ?= $(CURDIR)/dist/test-artifacts

check-format:
	@out="$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './node_modules/*'))"; \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

# TRAILWATCH_HOSTILE=1 runs the hostile-input tests of docs/security.md
# (a few seconds against the binary e2e builds anyway); a plain `go test`
# skips them.
unit: node_modules/.package-lock.json browser
	TRAILWATCH_HOSTILE=1 $(GO) test -race -timeout 15m $(PKGS)

# Peak-memory tests, skipped by default because they take a few seconds
# each; run without the race detector, which would distort the heap.
memtest:
	TRAILWATCH_MEMTEST=1 $(GO) test -count=1 -run 'PeakHeap' ./internal/ingest/...

# The HTML report's browser test drives Debian's Chromium (with a Japanese
# font for the ja page). Installed when missing and this runs as root or
# with sudo; elsewhere the test skips and says why.
browser:
	@if dpkg -s chromium fonts-ipafont-gothic >/dev/null 2>&1; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then sudo=; elif sudo -n true 2>/dev/null; then sudo="sudo -n"; \
	else echo "chromium is not installed and installing it needs root: the browser test will skip"; exit 0; fi; \
	echo "installing chromium for the browser test"; \
	$$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq chromium fonts-ipafont-gothic >/dev/null

# The built-in packs' own rule tests, run by the binary as a user would, and
# SigmaHQ's CloudTrail rules, loaded unchanged, with their tests.
ruletests:
	$(GO) run ./cmd/trailwatch test --packs all
	$(GO) run ./cmd/trailwatch test internal/rule/testdata/sigma/tests

# CloudFormation templates, checked with cfn-lint (pinned in package.json).
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund

lint-deploy: node_modules/.package-lock.json
	node deploy/lint.js deploy/trailwatch.yaml deploy/region-forwarder.yaml deploy/cloudwatch-logs.yaml

# The Lambda deployment package: a static arm64 bootstrap, reproducible.
# With CONFIG (a path, s3://bucket/key or ssm:NAME), the configuration and
# every rule, network and template file it names are checked and built in
# under trailwatch/; the function then reads
# TRAILWATCH_CONFIG=/var/task/trailwatch/<the configuration's file name>.
CONFIG ?=

lambda-zip:
	mkdir -p dist
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -trimpath -buildvcs=false \
		-tags lambda.norpc -ldflags '$(LDFLAGS)' -o dist/bootstrap ./cmd/trailwatch
	rm -rf dist/bundle
	@if [ -n "$(CONFIG)" ]; then \
		$(GO) run ./cmd/trailwatch bundle '$(CONFIG)' -o dist/bundle && \
		$(GO) run ./tools/lambdazip -o dist/lambda.zip -dir trailwatch=dist/bundle dist/bootstrap; \
	else \
		$(GO) run ./tools/lambdazip -o dist/lambda.zip dist/bootstrap; \
	fi
	@sha256sum dist/lambda.zip

clean:
	rm -rf dist node_modules
