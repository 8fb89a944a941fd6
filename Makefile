# sockaudit — build, test, install.
#
#   make            build ./sockaudit
#   make run        install missing dependencies, build, audit this host
#   make check      the same set-up, lint, then every test (plain, ASan+UBSan,
#                   and the binary under valgrind), then 10 s of each fuzzer
#   make install    PREFIX=/usr/local DESTDIR= (binary, sockaudit-textfile, man page)

PREFIX   ?= /usr/local
BINDIR   ?= $(PREFIX)/bin
MANDIR   ?= $(PREFIX)/share/man
CC       ?= cc
PKGS      = libmnl libcjson libmicrohttpd
TEST_PKGS = check libcjson

CFLAGS   ?= -O2 -g
WARN      = -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes \
            -Wmissing-prototypes -Wvla
ALL_CFLAGS = -std=gnu11 $(WARN) -D_GNU_SOURCE -pthread $(CFLAGS) \
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

.PHONY: all deps run check check-plain check-asan test install uninstall clean lint valgrind test-bins bench

all: $(BIN)

deps:
	sh scripts/deps.sh

run: deps
	$(MAKE) all
	./$(BIN)

$(B)/%.o: src/%.c $(wildcard src/*.h) | $(B)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(B)/libsockaudit.a: $(LIB_OBJS)
	rm -f $@
	ar rcs $@ $^

$(BIN): $(B)/main.o $(B)/libsockaudit.a
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

$(B) $(B)/tests $(B)/tests/progs $(B)/tests/shim:
	mkdir -p $@

$(B)/tests/%: tests/%.c $(TEST_LIB) $(wildcard tests/lib/*.h) $(B)/libsockaudit.a | $(B)/tests
	$(CC) $(ALL_CFLAGS) $(TEST_CFLAGS) $(LDFLAGS) -o $@ $< $(TEST_LIB) \
		$(B)/libsockaudit.a $(TEST_LIBS) $(LIBS)

$(B)/tests/progs/%: tests/progs/%.c tests/lib/portcheck.h | $(B)/tests/progs
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $<

$(B)/tests/shim/%.so: tests/shim/%.c | $(B)/tests/shim
	$(CC) -std=gnu11 $(WARN) -D_GNU_SOURCE -O2 -fPIC -shared -o $@ $< -ldl

test-bins: $(BIN) $(TESTS) $(TEST_PROGS) $(SHIMS)

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

check: deps
	$(MAKE) lint
	$(MAKE) check-plain
	$(MAKE) check-asan
	$(MAKE) valgrind
	$(MAKE) fuzz-check

# Static analysis: both must be silent (.clang-tidy holds the checks).
lint:
	cppcheck --enable=warning,style,performance,portability --std=c11 \
		--quiet --inline-suppr --error-exitcode=1 -D_GNU_SOURCE -Isrc \
		--suppress=missingIncludeSystem src/
	clang-tidy --quiet $(SRCS) -- -std=gnu11 -D_GNU_SOURCE -Isrc \
		$(shell pkg-config --cflags $(PKGS))

# Benchmark against ss, lsof and netstat (as root; about 10 minutes).
# make bench BENCH_N=2000 BENCH_ARGS="-r 2" for a quick check.  Never
# part of make check: timings are reported as ratios, not asserted.
BENCH_N    ?= 10000 100000
BENCH_ARGS ?=
bench: $(BIN)
	python3 scripts/bench $(BENCH_ARGS) $(BENCH_N)

install: $(BIN)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man8
	install -m 0755 $(BIN) $(DESTDIR)$(BINDIR)/sockaudit
	install -m 0755 scripts/sockaudit-textfile $(DESTDIR)$(BINDIR)/sockaudit-textfile
	install -m 0644 man/sockaudit.8 $(DESTDIR)$(MANDIR)/man8/sockaudit.8

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/sockaudit $(DESTDIR)$(BINDIR)/sockaudit-textfile \
		$(DESTDIR)$(MANDIR)/man8/sockaudit.8

clean:
	rm -rf build $(BIN)

# libFuzzer targets (tests/fuzz/), built with clang, ASan and UBSan, with
# the sources but main.c compiled straight in.  Each runs FUZZ_SECONDS on
# a copy of its checked-in corpus (build/fuzz/corpus-<target>, which it
# grows); a crash stops make with the reproducer in build/fuzz/.
# make fuzz-check runs each for 10 s (for CI).
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_DEFS    ?=
FUZZ_TARGETS  = procnet netlink options escape cgroup
FUZZ_FLAGS    = -std=gnu11 -D_GNU_SOURCE -pthread -O1 -g \
                -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined \
                -fno-sanitize-recover=all -Isrc $(FUZZ_DEFS) \
                $(shell pkg-config --cflags $(PKGS))
FUZZ_SRCS     = $(filter-out src/main.c,$(SRCS))
FUZZ_BINS     = $(patsubst %,build/fuzz/fuzz_%,$(FUZZ_TARGETS))

.PHONY: fuzz fuzz-check fuzz-bins

fuzz-bins: $(FUZZ_BINS)

build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_SRCS) $(wildcard src/*.h)
	@mkdir -p build/fuzz
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $< $(FUZZ_SRCS) $(LIBS)

fuzz: $(FUZZ_BINS)
	@failed=""; for t in $(FUZZ_TARGETS); do \
		echo "== fuzz_$$t ($(FUZZ_SECONDS) s)"; \
		rm -rf build/fuzz/corpus-$$t; mkdir -p build/fuzz/corpus-$$t; \
		cp tests/fuzz/corpus/$$t/* build/fuzz/corpus-$$t/ || exit 1; \
		UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		build/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
			-artifact_prefix=build/fuzz/crash-$$t- \
			build/fuzz/corpus-$$t || failed="$$failed $$t"; \
	done; \
	if [ -n "$$failed" ]; then echo "fuzz: crash in:$$failed (reproducers: build/fuzz/crash-*)" >&2; exit 1; fi

fuzz-check:
	$(MAKE) fuzz FUZZ_SECONDS=10
