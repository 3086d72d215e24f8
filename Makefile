# trailwatch build and test targets. `make test` is what CI runs.

GO      ?= go
PKGS    ?= ./...

.PHONY: test check-format vet unit ruletests lambda-zip clean

test: check-format vet unit

check-format:
	@out="$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))"; \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

unit:
	$(GO) test -race -timeout 15m $(PKGS)
