# waft - plain GNU Makefile (README.md: the two commands and every target).
#
#   make            library + CLI             make check   every test (also under ASan+UBSan)
#   make demo       install deps, run demo    make spec    the official spec suite
#   make test       unit + spec tests         make fuzz    libFuzzer, bounded time
#   make wasi       WASI tests (C programs built for wasm32-wasi, run by waft run)
#   make migrate    live migration tests (loopback, faults, network namespaces)
#   make check-cross   aarch64, s390x, i386 under qemu-user, images across architectures
#   make bench      benchmarks vs native      make bench-profile W=sieve   callgrind profile
#   make bench-migrate  live migration        make bench-track   dirty-page tracking
#   make SAN=address,undefined ...            builds into build/asan-ubsan/

CC      ?= cc
SPEC    ?= ../shared/spec
V       ?=
SAN     ?=
O       ?= -O2
# Runs the test programs: empty natively; `qemu-s390x -L /usr/s390x-linux-gnu ...` for a
# cross build (make check-cross sets it).
EMU     ?=

ifeq ($(SAN),)
BUILD   ?= build
SANFLAGS :=
else
BUILD   ?= build/$(subst address,asan,$(subst undefined,ubsan,$(subst $(comma),-,$(SAN))))
SANFLAGS := -fsanitize=$(SAN) -fno-sanitize-recover=all -fno-omit-frame-pointer
O        := -O1
endif
comma := ,

WARN := -Wall -Wextra -Wshadow -Wundef -Wwrite-strings -Wstrict-prototypes \
        -Wmissing-prototypes -Wold-style-definition -Wvla -Werror
# 64-bit off_t, ino_t and time_t on 32-bit hosts too (no-ops on 64-bit ones): without them
# stat/readdir fail with EOVERFLOW on large files and inode numbers.
# -ffp-contract=off: wasm rounds every float operation; a fused multiply-add would not.
CFLAGS_ALL := -std=c11 $(O) -g $(WARN) $(SANFLAGS) -fvisibility=hidden -ffp-contract=off \
              -D_DEFAULT_SOURCE -D_FILE_OFFSET_BITS=64 -D_TIME_BITS=64 -Iinclude -Isrc $(CFLAGS)
LDFLAGS_ALL := $(SANFLAGS) $(LDFLAGS)
LDLIBS_ALL := -lm $(LDLIBS)

# Optional: zstd compression of images, when libzstd-dev is installed (ZSTD=0 disables).
# Optional: libcrypto (OpenSSL) for the migration key check (src/migrate only; the core needs
# only libc). CRYPTO=0 disables it: keys are then refused with a message saying why.
# Neither is linked: src/base/dynlib.c loads each (dlopen, by its versioned soname) when
# first needed, so start-up does not pay for them; the headers are needed to build. On a
# libc older than glibc 2.34, add LDLIBS=-ldl.
ZSTD ?= $(if $(wildcard /usr/include/zstd.h),1,0)
ifeq ($(ZSTD),1)
CFLAGS_ALL += -DWAFT_HAVE_ZSTD
endif
CRYPTO ?= $(if $(wildcard /usr/include/openssl/hmac.h),1,0)
ifeq ($(CRYPTO),1)
MIGRATE_CFLAGS := -DWAFT_HAVE_CRYPTO
endif

LIB_SRC := $(wildcard src/base/*.c src/decode/*.c src/validate/*.c src/store/*.c src/aot/*.c src/interp/*.c \
                      src/snapshot/*.c src/api/*.c src/wasi/*.c src/capi/*.c src/migrate/*.c)
CLI_SRC := $(wildcard src/cli/*.c)
UNIT_SRC := $(wildcard tests/unit/*.c)
SPEC_SRC := $(wildcard tests/spec/*.c)
XR_SRC := tests/cross/xrestore.c
UNIT_WAT := $(wildcard tests/unit/wat/*.wat)

LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/%.o)
UNIT_OBJ := $(UNIT_SRC:%.c=$(BUILD)/%.o)
SPEC_OBJ := $(SPEC_SRC:%.c=$(BUILD)/%.o)
XR_OBJ   := $(XR_SRC:%.c=$(BUILD)/%.o)
UNIT_WASM := $(UNIT_WAT:%.wat=$(BUILD)/%.wasm)

LIB  := $(BUILD)/libwaft.a
CLI  := $(BUILD)/waft
UNIT := $(BUILD)/waft-unit
SPECRUN := $(BUILD)/waft-spec
XRESTORE := $(BUILD)/waft-xrestore

.PHONY: all lib cli test unit spec spec-counted spec-aot aot-tests diff stream-test regress check-clang check-fuzz wasi check cli-tests ckpt migrate sqlite-wasm fuzz fuzz-lib fuzz-module fuzz-image check-san demo format format-check clean install \
        capi shared example-capi example-migrate

all: lib cli

lib: $(LIB)
cli: $(CLI)

# The AOT translator copies these headers into every C file it writes (src/aot/emit.c);
# aot_translator_id, the SHA-256 of the translator's own source, is part of the AOT cache
# key, so a change to what the translator writes never reuses code made by the old one.
AOT_PRELUDE_HEADERS := src/base/le.h src/interp/numeric.h src/aot/abi.h
AOT_PRELUDE := $(BUILD)/gen/aot_prelude.h
$(AOT_PRELUDE): $(AOT_PRELUDE_HEADERS) src/aot/emit.c
	@mkdir -p $(dir $@)
	{ echo 'static const char aot_prelude[] ='; \
	  cat $(AOT_PRELUDE_HEADERS) | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/"/' -e 's/$$/\\n"/'; \
	  echo ';'; \
	  echo "static const char aot_translator_id[] = \"$$(cat src/aot/emit.c | sha256sum | cut -c1-64)\";"; \
	  } >$@.tmp && mv $@.tmp $@
$(BUILD)/src/aot/emit.o $(BUILD)/pic/src/aot/emit.o: $(AOT_PRELUDE)
$(BUILD)/src/aot/emit.o $(BUILD)/pic/src/aot/emit.o: CFLAGS_ALL += -I$(BUILD)/gen

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(if $(V),,@echo "  CC $<";)$(CC) $(CFLAGS_ALL) -MMD -MP -c $< -o $@

# Test modules; --debug-names keeps the function names that backtraces show.
$(BUILD)/%.wasm: %.wat
	@mkdir -p $(dir $@)
	$(if $(V),,@echo "  WAT $<";)wat2wasm --debug-names $< -o $@

$(LIB): $(LIB_OBJ)
	@rm -f $@
	$(if $(V),,@echo "  AR $@";)$(AR) rcs $@ $^

$(CLI): $(CLI_OBJ) $(LIB)
	$(CC) $(LDFLAGS_ALL) -pthread -o $@ $(CLI_OBJ) $(LIB) $(LDLIBS_ALL)

$(BUILD)/src/migrate/%.o $(BUILD)/pic/src/migrate/%.o: CFLAGS_ALL += $(MIGRATE_CFLAGS)
$(BUILD)/src/base/dynlib.o $(BUILD)/pic/src/base/dynlib.o: CFLAGS_ALL += $(MIGRATE_CFLAGS)

$(UNIT): $(UNIT_OBJ) $(LIB)
	$(CC) $(LDFLAGS_ALL) -pthread -o $@ $(UNIT_OBJ) $(LIB) $(LDLIBS_ALL)

$(SPECRUN): $(SPEC_OBJ) $(LIB)
	$(CC) $(LDFLAGS_ALL) -o $@ $(SPEC_OBJ) $(LIB) $(LDLIBS_ALL)

$(XRESTORE): $(XR_OBJ) $(LIB)
	$(CC) $(LDFLAGS_ALL) -o $@ $(XR_OBJ) $(LIB) $(LDLIBS_ALL)

# Differential runs of generated modules: fast loop vs counting loop vs stopped, saved and
# restored every few instructions (tests/fuzz/fuzz_diff.c); DIFF_SEEDS inputs.
DIFF := $(BUILD)/waft-diff
DIFF_SEEDS ?= 400
$(DIFF): tests/fuzz/fuzz_diff.c $(LIB)
	$(CC) $(CFLAGS_ALL) -DWAFT_DIFF_MAIN $(LDFLAGS_ALL) -o $@ $< $(LIB) $(LDLIBS_ALL)
diff: $(DIFF)
	cd $(BUILD) && $(EMU) $(abspath $(DIFF)) $(DIFF_SEEDS)

# The byte stream (src/base/stream.h) on memory, file, pipe and socket backends.
STREAM_TEST := $(BUILD)/waft-stream-test
$(STREAM_TEST): tests/base/stream_test.c $(LIB)
	$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $< $(LIB) $(LDLIBS_ALL) -lpthread
stream-test: $(STREAM_TEST)
	$(EMU) $(STREAM_TEST)

# ---- The standard C API, the shared library, install, pkg-config (docs/embedding.md) ----

# wasm.h tests (tests/capi/capi_test.c), linked against this build's libwaft.
CAPI_TEST := $(BUILD)/waft-capi-test
CAPI_WASM := $(patsubst %.wat,$(BUILD)/%.wasm,$(wildcard tests/capi/*.wat))
$(CAPI_TEST): tests/capi/capi_test.c include/wasm.h $(LIB)
	$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -pthread -o $@ $< $(LIB) $(LDLIBS_ALL)
capi: $(CAPI_TEST) $(CAPI_WASM)
	$(EMU) $(CAPI_TEST) $(BUILD)/tests/capi

# libwaft.so: the library's sources compiled again with -fPIC into $(BUILD)/pic. Only what
# is marked WAFT_API (waft_* and wasm_*) is exported: the rest is -fvisibility=hidden.
PIC_OBJ := $(LIB_SRC:%.c=$(BUILD)/pic/%.o)
SHLIB := $(BUILD)/libwaft.so
$(BUILD)/pic/%.o: %.c
	@mkdir -p $(dir $@)
	$(if $(V),,@echo "  CC(pic) $<";)$(CC) $(CFLAGS_ALL) -fPIC -MMD -MP -c $< -o $@
$(SHLIB): $(PIC_OBJ)
	$(CC) $(LDFLAGS_ALL) -shared -pthread -Wl,-soname,libwaft.so.0 -o $@ $^ $(LDLIBS_ALL)
shared: $(SHLIB)

# make install PREFIX=... (DESTDIR honoured): headers, libwaft.a, libwaft.so, waft.pc.
PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
WAFT_VERSION := $(shell sed -n 's/^\#define WAFT_VERSION_STRING *"\(.*\)"/\1/p' include/waft/waft.h)
PC_LIBS := -lm -pthread # libzstd and libcrypto are loaded at run time (src/base/dynlib.c)
install: $(LIB) $(SHLIB)
	install -d $(DESTDIR)$(INCLUDEDIR)/waft $(DESTDIR)$(LIBDIR)/pkgconfig
	install -m 644 include/waft/*.h $(DESTDIR)$(INCLUDEDIR)/waft/
	install -m 644 include/wasm.h $(DESTDIR)$(INCLUDEDIR)/
	install -m 644 $(LIB) $(DESTDIR)$(LIBDIR)/libwaft.a
	install -m 755 $(SHLIB) $(DESTDIR)$(LIBDIR)/libwaft.so.0
	ln -sf libwaft.so.0 $(DESTDIR)$(LIBDIR)/libwaft.so
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' \
	    -e 's|@VERSION@|$(WAFT_VERSION)|' -e 's|@LIBS@|$(PC_LIBS)|' waft.pc.in \
	    > $(DESTDIR)$(LIBDIR)/pkgconfig/waft.pc

# examples/capi_hello.c against the INSTALLED library, as an embedder builds it: install into
# a prefix under $(BUILD), compile with `pkg-config --cflags --libs waft`, run, compare its
# output; also checks that libwaft.so exports waft_* and wasm_* only.
EXAMPLE_PREFIX = $(abspath $(BUILD))/example-prefix
example-capi: $(LIB) $(SHLIB)
	rm -rf $(EXAMPLE_PREFIX)
	$(MAKE) --no-print-directory install PREFIX=$(EXAMPLE_PREFIX) DESTDIR=
	nm -D --defined-only $(SHLIB) | grep -q ' T wasm_instance_new$$'
	! nm -D --defined-only $(SHLIB) | awk '$$2 ~ /^[TDBRV]$$/ {print $$3}' | grep -v '^waft_\|^wasm_'
	export PKG_CONFIG_PATH=$(EXAMPLE_PREFIX)/lib/pkgconfig && \
	    $(CC) -std=c11 -Wall -Wextra -Werror examples/capi_hello.c -o $(BUILD)/capi_hello \
	        $$(pkg-config --cflags --libs waft) && \
	    LD_LIBRARY_PATH=$(EXAMPLE_PREFIX)/lib $(EMU) $(BUILD)/capi_hello > $(BUILD)/capi_hello.out
	diff -u examples/capi_hello.expected $(BUILD)/capi_hello.out

# examples/migrate_self.c (waft_migrate.h) against the INSTALLED library, the same way (in a
# prefix of its own, so that it can run beside example-capi): it runs
# examples/migrate_guest.wat and migrates it mid-run to a `waft serve` of this build; the
# output of both must equal a straight run (tests/migrate/example.sh).
EXAMPLE_MIG_PREFIX = $(abspath $(BUILD))/example-migrate-prefix
example-migrate: $(LIB) $(SHLIB) $(CLI)
	rm -rf $(EXAMPLE_MIG_PREFIX)
	$(MAKE) --no-print-directory install PREFIX=$(EXAMPLE_MIG_PREFIX) DESTDIR=
	wat2wasm examples/migrate_guest.wat -o $(BUILD)/migrate_guest.wasm
	export PKG_CONFIG_PATH=$(EXAMPLE_MIG_PREFIX)/lib/pkgconfig && \
	    $(CC) -std=c11 -Wall -Wextra -Werror examples/migrate_self.c -o $(BUILD)/migrate_self \
	        $$(pkg-config --cflags --libs waft)
	LD_LIBRARY_PATH=$(EXAMPLE_MIG_PREFIX)/lib bash tests/migrate/example.sh $(CLI) \
	    $(BUILD)/migrate_self $(BUILD)/migrate_guest.wasm $(BUILD)/example-migrate

unit: $(UNIT) $(UNIT_WASM)
	$(EMU) $(UNIT) $(BUILD)/tests/unit/wat

spec: $(SPECRUN)
	$(EMU) $(SPECRUN) --expected tests/spec/expected-failures.txt $(SPEC)/core

# The same suite through the fuel-counting loop (the one that can stop at any instruction).
spec-counted: $(SPECRUN)
	$(EMU) $(SPECRUN) --counted --expected tests/spec/expected-failures.txt $(SPEC)/core

# The AOT tier from the command line: both tiers agree, checkpoints under aot (tests/aot/).
aot-tests: $(CLI)
	bash tests/aot/run.sh $(CLI)

# The same suite with every module compiled by the AOT tier (src/aot/), cached in the build.
spec-aot: $(SPECRUN)
	WAFT_CACHE_DIR=$(abspath $(BUILD))/aot-cache $(EMU) $(SPECRUN) --aot \
	    --expected tests/spec/expected-failures.txt $(SPEC)/core

test: unit spec spec-counted diff stream-test

# WASI preview1: C programs built for wasm32-wasi (and natively), run under `waft run`.
wasi: $(CLI) $(LIB)
	bash tests/wasi/run.sh $(CLI)

# Everything: normal build, then the same tests under ASan+UBSan, then the CLI and WASI tests
# (the WASI ones also under ASan+UBSan).
check:
	$(MAKE) format-check
	$(MAKE) all test capi example-capi example-migrate spec-aot
	$(MAKE) SAN=address,undefined test wasi cli-tests regress capi
	$(MAKE) check-clang
	$(MAKE) check-fuzz
	bash tests/cli/run.sh $(BUILD)/waft
	bash tests/regress/run.sh $(BUILD)/waft
	bash tests/wasi/run.sh $(BUILD)/waft
	bash tests/ckpt/run.sh $(BUILD)/waft
	WAFT_RESTORE_OPTS=--no-map bash tests/ckpt/run.sh $(BUILD)/waft 5
	bash tests/ckpt/triggers.sh $(BUILD)/waft
	bash tests/aot/run.sh $(BUILD)/waft
	$(MAKE) sqlite-wasm
	bash tests/migrate/run.sh $(BUILD)/waft
	WAFT_MIGRATE_ONLY_FAULTS=1 bash tests/migrate/run.sh $(BUILD)/asan-ubsan/waft

# Part of make check: the library, CLI and tests built with clang too (into build/clang),
# and every fuzz target for a fixed number of runs from a fixed seed (a verdict that does
# not depend on the machine's speed; make fuzz runs them for a time instead).
check-clang:
	$(MAKE) CC=clang BUILD=build/clang all test regress
check-fuzz:
	$(MAKE) fuzz-module fuzz-image FUZZ_LIMIT="-runs=100000 -seed=1"
	$(MAKE) fuzz-diff FUZZ_LIMIT="-runs=300 -seed=1"
	@echo "fuzz: 3 passed, 0 failed"

# Regression cases, one per fixed defect (tests/regress/run.sh).
regress: $(CLI)
	bash tests/regress/run.sh $(CLI)

# The CLI tests against this build's waft (e.g. the sanitizer build).
cli-tests: $(CLI)
	bash tests/cli/run.sh $(CLI)

# Live migration: differential runs, faults, network namespaces (docs/migration.md).
migrate: $(CLI)
	bash tests/migrate/run.sh $(CLI)

# SQLite built for wasm32-wasi (bench/sqlite_bench.c; npm fetches the sources once), used by
# the migration tests and the benchmarks.
sqlite-wasm:
	python3 bench/run.py --build-only --only sqlite

# Differential checkpoint/restore harness (docs/checkpoint.md).
ckpt: $(CLI)
	bash tests/ckpt/run.sh $(CLI)
	bash tests/ckpt/triggers.sh $(CLI)

# Cross-architecture tests (tests/cross/run.sh, README): builds for aarch64, s390x
# (big-endian) and i386 (32-bit) with Debian's cross compilers into build/cross-ARCH/ and
# runs under qemu-user the unit, spec and WASI suites, then the restore matrices (library
# and CLI) between those hosts and x86-64. Installs its packages (tools/install-deps.sh
# cross). CROSS_ARCHES picks targets.
CROSS_ARCHES ?= aarch64 s390x i386
.PHONY: check-cross xrestore
xrestore: $(XRESTORE)
check-cross:
	bash tools/install-deps.sh cross
	bash tests/cross/run.sh $(CROSS_ARCHES)

demo:
	bash tools/install-deps.sh
	$(MAKE) all
	bash examples/demo.sh $(BUILD)/waft

# Benchmarks (docs/performance.md): native vs waft vs node (+ WAFT_BENCH_PEERS), RUNS runs
# each, interleaved; writes bench/results/DATE.json, the table and the chart. The bench
# packages (python3, gnuplot, npm for SQLite, valgrind) are installed here, not for check.
# Always the optimized build in build/, whatever BUILD or SAN say.
.PHONY: bench bench-profile bench-ckpt bench-migrate bench-track
RUNS ?= 5
W    ?= sieve
bench:
	bash tools/install-deps.sh bench
	$(MAKE) BUILD=build SAN= all
	python3 bench/run.py --runs $(RUNS)
	$(MAKE) bench-ckpt
	$(MAKE) bench-track
	$(MAKE) bench-migrate

# Checkpoint and restore throughput next to memcpy and write(+fsync) of the same bytes, for
# 1 MiB, 64 MiB and 1 GiB of touched linear memory (CKPT_MIB to choose); JSON lines in
# bench/results/ckpt-DATE.jsonl. Then the `waft` command end to end (bench/ckpt_cli.py):
# checkpoint split (pause, capture, write, sync) next to dd conv=fsync of the same bytes,
# the pause of --leave-running, restore to first output and first instruction, peak RSS,
# start-up against /bin/true, for CKPT_CLI_MIB; bench/results/ckpt-cli-DATE.jsonl.
CKPT_MIB ?= 1 64 1024
CKPT_CLI_MIB ?= 16,256,1024
bench-ckpt: lib cli
	$(CC) -std=c11 -O2 -D_DEFAULT_SOURCE -Iinclude bench/ckpt_bench.c $(LIB) $(LDLIBS_ALL) \
	    -o $(BUILD)/ckpt_bench
	mkdir -p $(BUILD)/ckpt bench/results
	$(BUILD)/ckpt_bench $(BUILD)/ckpt $(CKPT_MIB) | tee bench/results/ckpt-$$(date +%F).jsonl
	python3 bench/ckpt_cli.py --sizes $(CKPT_CLI_MIB)

# Live migration on loopback (bench/migrate.py, guest bench/migrate/dirty.c): downtime,
# total time, bytes and rounds for 64 MiB, 256 MiB and 1 GiB guests, pre-copy (hot or
# address order) vs stop-and-copy, MIGRATE_REPS trials each; then the cost of
# `waft run --track-writes` on the bench/ workloads (MIGRATE_RUNS runs each, alternating).
# Writes bench/results/migrate-DATE.json and its tables in docs/performance.md.
MIGRATE_REPS ?= 3
MIGRATE_RUNS ?= 5
bench-migrate:
	$(MAKE) BUILD=build SAN= all
	python3 bench/migrate.py --reps $(MIGRATE_REPS) --runs $(MIGRATE_RUNS)

# Dirty-page tracking mechanisms side by side (bench/track_bench.c): the interpreter's
# software write barrier vs userfaultfd async write-protect + PAGEMAP_SCAN, over a
# TRACK_MIB MiB mapping; output in bench/results/track-DATE.txt.
TRACK_MIB ?= 256
bench-track:
	mkdir -p $(BUILD) bench/results
	$(CC) -std=c11 -O2 -Wall -Wextra bench/track_bench.c -o $(BUILD)/track_bench
	out=bench/results/track-$$(date +%F).txt; $(BUILD)/track_bench $(TRACK_MIB) > $$out; \
	    st=$$?; cat $$out; exit $$st

# callgrind profile of waft running workload W: top functions and interpreter handlers.
bench-profile:
	bash tools/install-deps.sh bench
	$(MAKE) BUILD=build SAN= all
	python3 bench/run.py --profile $(W)

FUZZ_BUILD := build/fuzz
FUZZ_TIME ?= 60
# How long each target runs: FUZZ_TIME seconds by default; make check gives a number of runs
# from a fixed seed instead, so that its verdict does not depend on the machine's speed.
FUZZ_LIMIT ?= -max_total_time=$(FUZZ_TIME)
FUZZ_FLAGS := -O1 -g -fsanitize=fuzzer,address,undefined -Iinclude -Isrc
# Every target, FUZZ_TIME seconds each.
fuzz: fuzz-module fuzz-image fuzz-diff

fuzz-lib:
	$(MAKE) BUILD=$(FUZZ_BUILD) CC=clang O=-O1 \
	    CFLAGS="-fsanitize=fuzzer-no-link,address,undefined -DWAFT_FUZZING" lib

# decode + validate + instantiate + run with fuel
fuzz-module: fuzz-lib
	clang $(FUZZ_FLAGS) tests/fuzz/fuzz_module.c $(FUZZ_BUILD)/libwaft.a $(LDLIBS_ALL) \
	    -o $(FUZZ_BUILD)/fuzz_module
	mkdir -p $(FUZZ_BUILD)/corpus $(FUZZ_BUILD)/seeds
	if [ -d $(SPEC)/core ]; then cp $(SPEC)/core/*/*.wasm $(FUZZ_BUILD)/seeds/; fi
	$(FUZZ_BUILD)/fuzz_module $(FUZZ_LIMIT) -max_len=8192 -timeout=10 \
	    -rss_limit_mb=2048 $(FUZZ_BUILD)/corpus tests/fuzz/corpus $(FUZZ_BUILD)/seeds

# generated modules: fast loop vs counting loop vs checkpoint/restore (tests/fuzz/fuzz_diff.c)
fuzz-diff: fuzz-lib
	clang $(FUZZ_FLAGS) tests/fuzz/fuzz_diff.c $(FUZZ_BUILD)/libwaft.a $(LDLIBS_ALL) \
	    -o $(FUZZ_BUILD)/fuzz_diff
	mkdir -p $(FUZZ_BUILD)/diff-corpus
	cd $(FUZZ_BUILD) && ./fuzz_diff $(FUZZ_LIMIT) -max_len=2048 -timeout=20 \
	    -rss_limit_mb=2048 diff-corpus

# the image reader and restore; seeds are images written by the snapshot unit tests
fuzz-image: fuzz-lib $(UNIT) $(UNIT_WASM)
	clang $(FUZZ_FLAGS) tests/fuzz/fuzz_image.c $(FUZZ_BUILD)/libwaft.a $(LDLIBS_ALL) \
	    -o $(FUZZ_BUILD)/fuzz_image
	mkdir -p $(FUZZ_BUILD)/image-corpus $(FUZZ_BUILD)/image-seeds
	WAFT_UNIT_IMAGE_DIR=$(FUZZ_BUILD)/image-seeds $(UNIT) $(BUILD)/tests/unit/wat snapshot_roundtrip
	$(FUZZ_BUILD)/fuzz_image $(FUZZ_LIMIT) -max_len=262144 -timeout=10 \
	    -rss_limit_mb=2048 $(FUZZ_BUILD)/image-corpus $(FUZZ_BUILD)/image-seeds

format:
	clang-format -i $$(git ls-files '*.c' '*.h')
format-check:
	clang-format --dry-run --Werror $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(UNIT_OBJ:.o=.d) $(SPEC_OBJ:.o=.d) $(XR_OBJ:.o=.d) \
         $(PIC_OBJ:.o=.d)
