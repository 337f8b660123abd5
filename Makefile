# safe-run — build, demo, test.
#   make demo   installs what is missing (apt-get, as root), builds, and runs a
#               program under the default profile, showing the restrictions.
#   make test   installs what is missing, builds, runs every test (unit,
#               golden, integration with the real runc, rootful and rootless).

SHELL := /bin/bash
GO ?= $(shell command -v go 2>/dev/null || echo /usr/local/go/bin/go)
BIN := bin
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)

# Debian packages safe-run needs: runc (the runtime), libseccomp-dev and
# pkg-config (cgo build of libseccomp-golang), uidmap (subordinate ids for
# rootless runs); for the tests: busybox-static (a directory rootfs), gcc
# and libc6-dev (the static syscall probe), python3 (explain/record tests),
# docker-registry (a real local registry for the image tests).
DEB_PACKAGES := runc libseccomp-dev pkg-config gcc libc6-dev uidmap busybox-static iproute2 procps python3 docker-registry passt

.PHONY: all build deps demo test test-unit test-integration test-selinux bench lint clean

all: build

deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get update -qq && apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "missing Debian packages:$$missing — run as root, or: sudo apt-get install$$missing" >&2; exit 1; \
	  fi; \
	fi
	@test -x "$(GO)" || { echo "Go >= 1.26 is needed (expected at /usr/local/go/bin/go or in PATH)" >&2; exit 1; }

build: $(BIN)/safe-run $(BIN)/safe-run-init

# urfave_cli_no_docs drops the man/markdown generators and their markdown
# library, whose init alone costs ~1 ms of every start; osusergo reads
# /etc/passwd in Go instead of loading glibc's NSS modules at every start.
GOTAGS := urfave_cli_no_docs,osusergo

$(BIN)/safe-run: FORCE
	$(GO) build -tags $(GOTAGS) -trimpath -ldflags "-X main.version=$(VERSION)" -o $@ ./cmd/safe-run

# The init runs inside containers whose root may have no libc: static.
$(BIN)/safe-run-init: FORCE
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w" -o $@ ./cmd/safe-run-init

FORCE:

demo: deps build
	@examples/demo.sh $(BIN)/safe-run

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

test-unit:
	$(GO) test -count=1 $$($(GO) list ./... | grep -v /tests)

test-integration: build
	$(GO) test -count=1 -v ./tests/ 2>&1 | tee /tmp/safe-run-integration.log | grep -E '^(=== RUN|--- |PASS|FAIL|ok|panic)' ; exit $${PIPESTATUS[0]}

# As root, test also checks SELinux labels in an enforcing VM (test-selinux:
# about a minute once its image is cached, ~4 minutes the first time).
test: deps build lint test-unit test-integration $(if $(filter 0,$(shell id -u)),test-selinux)

bench: deps build
	bench/startup.sh

clean:
	rm -rf $(BIN)

# SELinux labels checked by a kernel that enforces them: this host's kernel
# has SELinux compiled in but not active, so tests/selinux boots a Debian VM
# (qemu, TCG) with SELinux enforcing and runs the current safe-run in it.
# Root. The VM image is built once (about 3 minutes) and cached under
# /var/cache/safe-run-test/selinux-vm; a run then takes about a minute.
test-selinux:
	GO=$(GO) tests/selinux/run.sh
