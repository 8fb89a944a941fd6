# sockaudit — build, test, install.
#
#   make            build ./sockaudit and the shell completions (completions/)
#   make run        install missing dependencies, build, audit this host
#   make check      the same set-up, lint, then every test (plain, plain on a
#                   busy host, ASan+UBSan, and the binary under valgrind),
#                   then 10 s of each fuzzer, then check-deb
#   make install    PREFIX=/usr/local DESTDIR= (binary in sbin, man page,
#                   share/sockaudit, systemd units, completions; see README)
#   make deb        the Debian package, in build/deb/
#   make check-deb  build, lint, install, run and purge the package (root)

# The version, in one place: --version, the package and the man page.
VERSION  := $(shell cat VERSION)

PREFIX   ?= /usr/local
SBINDIR  ?= $(PREFIX)/sbin
MANDIR   ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR  ?= $(PREFIX)/share/zsh/vendor-completions
DATADIR  ?= $(PREFIX)/share/sockaudit
UNITDIR  ?= $(PREFIX)/lib/systemd/system
UNITS     = sockaudit-exporter.service sockaudit-textfile.service \
            sockaudit-textfile.timer
CC       ?= cc
PKGS      = libmnl libcjson libmicrohttpd zlib yaml-0.1 gnutls libcrypt
TEST_PKGS = check libcjson

CFLAGS   ?= -O2 -g
WARN      = -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes \
            -Wmissing-prototypes -Wvla
ALL_CFLAGS = -std=gnu11 $(WARN) -D_GNU_SOURCE -pthread \
             -DSOCKAUDIT_VERSION='"$(VERSION)"' $(CPPFLAGS) $(CFLAGS) \
             $(shell pkg-config --cflags $(PKGS))
LIBS      = $(shell pkg-config --libs $(PKGS)) -pthread
TEST_CFLAGS = $(shell pkg-config --cflags $(TEST_PKGS)) -Isrc
TEST_LIBS   = $(shell pkg-config --libs $(TEST_PKGS))

# B is the build directory: build/ for the plain build, build/asan/ for
# the sanitizer build (see check-asan).
B        ?= build
BIN      ?= sockaudit

SRCS      = $(wildcard src/*.c)
LIB_OBJS  = $(patsubst src/%.c,$(B)/%.o,$(filter-out src/main.c,$(SRCS)))
TEST_LIB  = $(wildcard tests/lib/*.c)
TESTS     = $(patsubst tests/%.c,$(B)/tests/%,$(wildcard tests/test_*.c))
TEST_PROGS = $(patsubst tests/progs/%.c,$(B)/tests/progs/%,$(wildcard tests/progs/*.c))
SHIMS     = $(patsubst tests/shim/%.c,$(B)/tests/shim/%.so,$(wildcard tests/shim/*.c))

# ---- BPF source (src/bpf/, source_bpf.c) ----
.DEFAULT_GOAL := all
# The BPF programs are compiled with clang (-target bpf, CO-RE) against a
# vmlinux.h dumped from this kernel's BTF, and bpftool turns the object
# into a skeleton header that source_bpf.c includes: the programs are
# inside the binary.  All of it goes to build/bpf/ (never checked in).
# Without clang, bpftool, libbpf or a BTF kernel (or with BPF=0) the
# binary is built without them: --source bpf then says so and auto uses
# netlink.
BPF_CLANG   ?= clang
BPF_STRIP   ?= $(shell command -v llvm-strip 2>/dev/null)
BPFTOOL     ?= $(shell command -v bpftool 2>/dev/null || echo /usr/sbin/bpftool)
VMLINUX_BTF ?= /sys/kernel/btf/vmlinux
BPF_DIR      = build/bpf
BPF ?= $(shell command -v $(BPF_CLANG) >/dev/null 2>&1 && [ -x "$(BPFTOOL)" ] && \
	[ -r $(VMLINUX_BTF) ] && pkg-config --exists libbpf && echo 1 || echo 0)
ifeq ($(BPF),1)
BPF_SKEL     = $(BPF_DIR)/sockaudit.skel.h
BPF_CPPFLAGS = -DSOCKAUDIT_BPF -I$(BPF_DIR)
ALL_CFLAGS  += $(BPF_CPPFLAGS) $(shell pkg-config --cflags libbpf)
LIBS        += $(shell pkg-config --libs libbpf)
endif

$(BPF_DIR):
	mkdir -p $@

$(BPF_DIR)/vmlinux.h: | $(BPF_DIR)
	$(BPFTOOL) btf dump file $(VMLINUX_BTF) format c >$@.tmp
	mv $@.tmp $@

# -g gives the BTF that CO-RE needs; the DWARF is then stripped (it
# would be embedded in the binary for nothing).
$(BPF_DIR)/sockaudit.bpf.o: src/bpf/sockaudit.bpf.c src/bpf/records.h \
		$(BPF_DIR)/vmlinux.h
	$(BPF_CLANG) -target bpf -g -O2 -Wall -Wextra -Werror \
		-I$(BPF_DIR) -Isrc/bpf -c -o $@ $<
	$(if $(BPF_STRIP),$(BPF_STRIP) -g $@)

$(BPF_DIR)/sockaudit.skel.h: $(BPF_DIR)/sockaudit.bpf.o
	$(BPFTOOL) gen skeleton $< name sa_bpf >$@.tmp
	mv $@.tmp $@

$(B)/source_bpf.o: $(BPF_SKEL)

.PHONY: bpf-skel
bpf-skel: $(BPF_SKEL)
# ---- end of the BPF source ----

.PHONY: all deps run check check-plain check-asan check-busy check-busy-asan test install uninstall clean lint valgrind test-bins bench \
	deb check-deb check-version completions

all: $(BIN) completions

deps:
	sh scripts/deps.sh

run: deps
	$(MAKE) all
	./$(BIN)

$(B)/%.o: src/%.c $(wildcard src/*.h) VERSION | $(B)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(B)/libsockaudit.a: $(LIB_OBJS)
	rm -f $@
	ar rcs $@ $^

$(BIN): $(B)/main.o $(B)/libsockaudit.a
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

# The shell completions, generated from the option table that the
# binary prints (sockaudit --dump-options); not checked in.
COMPLETIONS = completions/sockaudit.bash completions/_sockaudit
completions: $(COMPLETIONS)

completions/sockaudit.bash: completions/sockaudit.bash.in scripts/gen-completion $(BIN)
	$(abspath $(BIN)) --dump-options | sh scripts/gen-completion bash $< >$@.tmp
	mv $@.tmp $@

completions/_sockaudit: completions/_sockaudit.in scripts/gen-completion $(BIN)
	$(abspath $(BIN)) --dump-options | sh scripts/gen-completion zsh $< >$@.tmp
	mv $@.tmp $@

$(B) $(B)/tests $(B)/tests/progs $(B)/tests/shim:
	mkdir -p $@

$(B)/tests/%: tests/%.c $(TEST_LIB) $(wildcard tests/lib/*.h) $(B)/libsockaudit.a | $(B)/tests
	$(CC) $(ALL_CFLAGS) $(TEST_CFLAGS) $(LDFLAGS) -o $@ $< $(TEST_LIB) \
		$(B)/libsockaudit.a $(TEST_LIBS) $(LIBS)

$(B)/tests/progs/%: tests/progs/%.c tests/lib/portcheck.h | $(B)/tests/progs
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $<

$(B)/tests/shim/%.so: tests/shim/%.c $(wildcard tests/shim/*.h) | $(B)/tests/shim
	$(CC) -std=gnu11 $(WARN) -D_GNU_SOURCE -O2 -fPIC -shared -o $@ $< -ldl

test-bins: $(BIN) $(COMPLETIONS) $(TESTS) $(TEST_PROGS) $(SHIMS)

# Run every test binary against the binary built in $(B).
test: test-bins
	@set -e; for t in $(TESTS); do \
		echo "== $$t"; \
		SOCKAUDIT=$(abspath $(BIN)) TEST_PROGS=$(abspath $(B)/tests/progs) \
		TEST_SHIMS=$(abspath $(B)/tests/shim) TEST_DATA=$(abspath tests/data) \
		$$t; \
	done

check-plain:
	$(MAKE) test
	$(MAKE) check-manifest

# scripts/sockaudit-daemonset.yaml against the Kubernetes API schema
# (npm modules that scripts/deps.sh puts in build/npm), and its
# exporter's arguments run here (tests/check-manifest.mjs).
check-manifest: $(BIN)
	node tests/check-manifest.mjs $(abspath $(BIN)) scripts/sockaudit-daemonset.yaml

# test_bigdump holds BIGDUMP_CONNECTIONS connections (default 50,000:
# 100,000 sockets) in the plain run; fewer under ASan and valgrind, where
# peak RSS is the tool's own and the bound on it is not asserted.
BIGDUMP_ASAN_CONNECTIONS     ?= 20000
BIGDUMP_VALGRIND_CONNECTIONS ?= 5000

# The tests that run the binary, with the binary under valgrind memcheck
# (tests/valgrind-sockaudit): any memory error or leak fails them.
# Check's per-test timeouts are stretched 4x here and 2x under ASan:
# they catch a hang, and a slow machine must not trip them.
VALGRIND_TESTS = $(filter-out $(B)/tests/test_unit_%,$(TESTS))
valgrind: test-bins
	@rm -rf $(B)/valgrind && mkdir -p $(B)/valgrind
	@# Some tests run the binary as nobody: its logs must be writable.
	@chmod 1777 $(B)/valgrind
	@set -e; for t in $(VALGRIND_TESTS); do \
		echo "== valgrind: $$t"; \
		SOCKAUDIT=$(abspath tests/valgrind-sockaudit) \
		SOCKAUDIT_BIN=$(abspath $(BIN)) VALGRIND_LOGS=$(abspath $(B)/valgrind) \
		BIGDUMP_CONNECTIONS=$(BIGDUMP_VALGRIND_CONNECTIONS) BIGDUMP_RSS_PER_SOCKET=0 \
		CK_TIMEOUT_MULTIPLIER=4 TEST_PROGS=$(abspath $(B)/tests/progs) \
		TEST_SHIMS=$(abspath $(B)/tests/shim) TEST_DATA=$(abspath tests/data) \
		$$t; \
	done

# The same suite under AddressSanitizer and UndefinedBehaviorSanitizer.
check-asan:
	BIGDUMP_CONNECTIONS=$(BIGDUMP_ASAN_CONNECTIONS) BIGDUMP_RSS_PER_SOCKET=0 \
	CK_TIMEOUT_MULTIPLIER=2 \
	$(MAKE) test B=build/asan BIN=build/asan/sockaudit \
		CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
		LDFLAGS="-fsanitize=address,undefined"

# The plain suite again on a busy host: beside it, tests/progs/churn
# forks and reaps thousands of short-lived processes a second, opens and
# resets loopback connections and spins a CPU (scripts/busy starts and
# stops it by PID; BUSY_ARGS passes it options).  test_bigdump holds
# BIGDUMP_BUSY_CONNECTIONS connections there.  check-busy-asan: the
# ASan+UBSan suite so (not part of make check).
BIGDUMP_BUSY_CONNECTIONS ?= 20000
BUSY_TIMEOUT_MULTIPLIER  ?= 2
check-busy: test-bins
	BIGDUMP_CONNECTIONS=$(BIGDUMP_BUSY_CONNECTIONS) \
	CK_TIMEOUT_MULTIPLIER=$(BUSY_TIMEOUT_MULTIPLIER) \
	sh scripts/busy $(B)/tests/progs/churn $(MAKE) test

check-busy-asan:
	BIGDUMP_RSS_PER_SOCKET=0 \
	$(MAKE) check-busy B=build/asan BIN=build/asan/sockaudit \
		BIGDUMP_BUSY_CONNECTIONS=$(BIGDUMP_ASAN_CONNECTIONS) BUSY_TIMEOUT_MULTIPLIER=4 \
		CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
		LDFLAGS="-fsanitize=address,undefined"

check: deps
	$(MAKE) lint
	$(MAKE) check-plain
	$(MAKE) check-busy
	$(MAKE) check-asan
	$(MAKE) valgrind
	$(MAKE) fuzz-check
	$(MAKE) check-deb

# Static analysis: both must be silent (.clang-tidy holds the checks).
# The BPF programs (src/bpf/) are checked by their own build (clang
# -Wall -Wextra -Werror), not here: they need the generated vmlinux.h.
lint: $(BPF_SKEL)
	cppcheck --enable=warning,style,performance,portability --std=c11 \
		--quiet --inline-suppr --error-exitcode=1 -D_GNU_SOURCE -Isrc \
		--suppress=missingIncludeSystem -i src/bpf src/
	clang-tidy --quiet $(SRCS) -- -std=gnu11 -D_GNU_SOURCE -Isrc \
		$(BPF_CPPFLAGS) $(shell pkg-config --cflags $(PKGS))

# Benchmark against ss, lsof and netstat (as root; about 10 minutes).
# make bench BENCH_N=2000 BENCH_ARGS="-r 2" for a quick check.  Never
# part of make check: timings are reported as ratios, not asserted.
BENCH_N    ?= 10000 100000 4000x5 share2000
BENCH_ARGS ?=
bench: $(BIN) test-bins
	python3 scripts/bench $(BENCH_ARGS) $(BENCH_N)
	python3 scripts/bench-workloads

# The units in scripts/ name the default install's paths
# (/usr/local/sbin, /usr/local/share/sockaudit): installed ones name
# these.  Nothing is enabled or started.
install: $(BIN) $(COMPLETIONS)
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(DATADIR) $(DESTDIR)$(UNITDIR)
	install -m 0755 $(BIN) $(DESTDIR)$(SBINDIR)/sockaudit
	install -m 0644 man/sockaudit.8 $(DESTDIR)$(MANDIR)/man8/sockaudit.8
	install -m 0755 scripts/sockaudit-textfile $(DESTDIR)$(DATADIR)/sockaudit-textfile
	install -m 0644 scripts/sockaudit-alerts.yml $(DESTDIR)$(DATADIR)/sockaudit-alerts.yml
	install -m 0644 scripts/sockaudit-daemonset.yaml $(DESTDIR)$(DATADIR)/sockaudit-daemonset.yaml
	set -e; for u in $(UNITS); do \
		sed -e 's|/usr/local/sbin/|$(SBINDIR)/|g' \
		    -e 's|/usr/local/share/sockaudit/|$(DATADIR)/|g' \
			scripts/$$u >$(DESTDIR)$(UNITDIR)/$$u; \
		chmod 0644 $(DESTDIR)$(UNITDIR)/$$u; \
	done
	install -d $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR)
	install -m 0644 completions/sockaudit.bash $(DESTDIR)$(BASHCOMPDIR)/sockaudit
	install -m 0644 completions/_sockaudit $(DESTDIR)$(ZSHCOMPDIR)/_sockaudit

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/sockaudit $(DESTDIR)$(MANDIR)/man8/sockaudit.8 \
		$(DESTDIR)$(DATADIR)/sockaudit-textfile \
		$(DESTDIR)$(DATADIR)/sockaudit-alerts.yml \
		$(DESTDIR)$(DATADIR)/sockaudit-daemonset.yaml \
		$(addprefix $(DESTDIR)$(UNITDIR)/,$(UNITS)) \
		$(DESTDIR)$(BASHCOMPDIR)/sockaudit $(DESTDIR)$(ZSHCOMPDIR)/_sockaudit
	-rmdir $(DESTDIR)$(DATADIR)

# VERSION, debian/changelog's latest entry and the man page's .TH line
# agree (version and date).
check-version:
	sh scripts/check-version

# The Debian package, built by dpkg-buildpackage from a copy of the
# source tree (the files git tracks or would track, without build
# products) in build/deb/src: the .deb, .changes and .buildinfo land in
# build/deb/.
deb: check-version
	bash scripts/build-deb build/deb

# Build the package, lint it, install it, run it, purge it, and check
# that nothing is left behind (root; purges an installed sockaudit
# first).
check-deb: deb
	bash scripts/check-deb build/deb

clean:
	rm -rf build $(BIN) $(COMPLETIONS)

# libFuzzer targets (tests/fuzz/), built with clang, ASan and UBSan, with
# the sources but main.c compiled straight in.  scripts/fuzz runs each
# for FUZZ_SECONDS on a copy of its checked-in corpus (build/fuzz/
# corpus-<target>, which it grows), FUZZ_JOBS at a time, keeps going
# after a finding (reproducers: build/fuzz/crash-<target>-*) and ends
# with one line per target: seconds, executions, coverage (cov, ft),
# findings; its status is 1 when there was one.
# make fuzz-check runs each for 10 s (for CI), make fuzz-long for 10
# minutes, two at a time (about 40 minutes on two cores).
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_JOBS    ?= 1
FUZZ_LONG_SECONDS ?= 600
FUZZ_LONG_JOBS    ?= 2
FUZZ_DEFS    ?=
FUZZ_TARGETS  = procnet netlink udp unix options escape render growth http cgroup webconfig
FUZZ_FLAGS    = -std=gnu11 -D_GNU_SOURCE -pthread -O1 -g \
                -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined \
                -fno-sanitize-recover=all -Isrc $(FUZZ_DEFS) \
                $(shell pkg-config --cflags $(PKGS))
FUZZ_SRCS     = $(filter-out src/main.c,$(SRCS))
FUZZ_BINS     = $(patsubst %,build/fuzz/fuzz_%,$(FUZZ_TARGETS))

.PHONY: fuzz fuzz-check fuzz-long fuzz-bins

fuzz-bins: $(FUZZ_BINS)

# fuzz_render checks the exposition with the tests' strict reader.
FUZZ_EXTRA_render      = tests/lib/prom.c
FUZZ_EXTRA_LIBS_render = $(shell pkg-config --libs check)
build/fuzz/fuzz_render: tests/lib/prom.c tests/lib/prom.h

build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_SRCS) $(wildcard src/*.h)
	@mkdir -p build/fuzz
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $< $(FUZZ_EXTRA_$*) $(FUZZ_SRCS) $(LIBS) \
		$(FUZZ_EXTRA_LIBS_$*)

fuzz: $(FUZZ_BINS)
	bash scripts/fuzz $(FUZZ_SECONDS) $(FUZZ_JOBS) $(FUZZ_TARGETS)

fuzz-check:
	$(MAKE) fuzz FUZZ_SECONDS=10 FUZZ_JOBS=1

fuzz-long:
	$(MAKE) fuzz FUZZ_SECONDS=$(FUZZ_LONG_SECONDS) FUZZ_JOBS=$(FUZZ_LONG_JOBS)
