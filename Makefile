# trailwatch build and test targets. `make test` is what CI runs; it installs
# everything the tests need from this repository's own files.

GO       ?= go
PKGS     ?= ./...
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -buildid= -X github.com/trailwatch/trailwatch/internal/cli.Version=$(VERSION)

.PHONY: test check-format vet unit ruletests lint-deploy lambda-zip clean

test: check-format vet unit ruletests lint-deploy

check-format:
	@out="$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './node_modules/*'))"; \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

unit:
	$(GO) test -race -timeout 15m $(PKGS)

# The built-in packs' own rule tests, run by the binary as a user would.
ruletests:
	$(GO) run ./cmd/trailwatch test

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
