# Intravisor on x86-64 Linux.  `make` builds everything; `make demo` runs the
# hello world cVM; `make test` runs the whole suite (with an ASan/UBSan build
# of the monitor); `make fuzz` runs the ELF, YAML, image and program-check
# fuzzers for a bounded time; `make fuzz-hostcall` the hostcall fuzzer cVM;
# `make install` installs the monitor and the SDK (PREFIX, DESTDIR).

CC      ?= gcc
CFLAGS  ?= -O2 -g
WARN    := -Wall -Wextra -Werror
CPPFLAGS := -Isrc/include -Isrc/features -Isdk/include
LDLIBS  := -lyaml -lseccomp -lmnl -lpthread
B       := build

MON_SRC := $(wildcard src/front/*.c src/base/*.c src/core/*.c src/features/*/*.c src/loader/*.c) \
	   src/cell/cell.c src/cell/policy.c src/cell/plan.c src/cell/inject.c src/cell/files.c \
	   src/cell/cgroup.c src/cell/net.c src/cell/capmount.c src/cell/memimg.c
LIB_SRC := $(filter-out src/front/main.c,$(MON_SRC))
HDRS    := $(wildcard src/include/*.h src/features/*/*.h sdk/include/*.h)

# cVMs are freestanding: no libc, no stack protector, position independent.
CVM_CFLAGS := -O2 -g -ffreestanding -fno-stack-protector -fno-builtin -fPIC -Isdk/include $(WARN)
CVM_LDFLAGS := -nostdlib -shared -Wl,-z,noexecstack -Wl,--no-undefined

# The SDK for hosted (glibc, musl) programs: libintravisor.a and .so, apart
# from the monitor's own build/libintravisor.a.
SDK_B      := $(B)/sdk/hosted
SDK_SONAME := libintravisor.so.0
SDK_LIBS   := $(SDK_B)/libintravisor.a $(SDK_B)/$(SDK_SONAME) $(SDK_B)/libintravisor.so
VERSION    := 0.1

# The seed's workloads as libc programs (runtime/posix/): static, linked where
# a cVM range starts.  Duktape is Debian's duktape.c (duktape-dev); mnist
# reads ONNX with Debian's protobuf-c and onnx.proto.
POSIX_EXAMPLES := $(B)/runtime/duktape/duktape $(B)/runtime/file/file $(B)/runtime/file/disk.stamp \
		  $(B)/runtime/mnist/mnist $(B)/runtime/cap_file/cap_file $(B)/runtime/cap_stream/cap_stream
EXAMPLES := $(B)/runtime/hello_world/libhello.so $(B)/runtime/hc_test/libhc_test.so \
	    $(B)/runtime/hello_multi/libhello_multi.so $(B)/runtime/heap_template/libheap.so \
	    $(B)/runtime/mt_template/libmt.so $(B)/runtime/two_layers/libouter_h.so \
	    $(B)/runtime/two_layers/libinner_h.so $(POSIX_EXAMPLES)
TEST_CVMS := $(patsubst tests/cvm/%.c,$(B)/tests/%.so,$(wildcard tests/cvm/*.c)) \
	     $(patsubst tests/posix/%.c,$(B)/tests/posix/%,$(wildcard tests/posix/*.c)) \
	     $(B)/tests/glibc/libc_fork

.PHONY: all deps fuzz-deps demo test fuzz fuzz-hostcall bench bench-tfork bench-workloads clean format install
all: deps $(B)/intravisor $(B)/monitor $(B)/iv-cell $(B)/libivrt.a $(SDK_LIBS) $(EXAMPLES)

deps:
	@sh scripts/deps.sh

$(B)/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WARN) $(CPPFLAGS) -c -o $@ $<

$(B)/libintravisor.a: $(LIB_SRC:%.c=$(B)/%.o)
	rm -f $@ && ar rcs $@ $^

$(B)/intravisor: $(B)/src/front/main.o $(B)/libintravisor.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(B)/monitor: $(B)/intravisor
	ln -sf intravisor $@

# The cell stub: static, freestanding, linked far above any cVM range.
$(B)/iv-cell: src/cell/stub.c src/cell/stub_start.S src/include/plan.h
	@mkdir -p $(B)
	$(CC) -O2 -g -ffreestanding -fno-stack-protector -fpie -no-pie -nostdlib -static \
	  -fno-builtin $(WARN) -Isrc/include -Wl,-Ttext-segment=0x600000000000 \
	  -Wl,-z,noexecstack -Wl,--build-id=none -o $@ src/cell/stub_start.S src/cell/stub.c

$(B)/sdk/%.o: sdk/crt/%.c sdk/include/intravisor.h sdk/include/iv_hostcalls.h
	@mkdir -p $(dir $@)
	$(CC) $(CVM_CFLAGS) -c -o $@ $<

$(B)/sdk/ipc.o: sdk/include/iv_channel.h

$(B)/libivrt.a: $(B)/sdk/rt.o $(B)/sdk/tfork.o $(B)/sdk/thread.o $(B)/sdk/ipc.o
	rm -f $@ && ar rcs $@ $^

# The same tfork.c, hosted: position independent (static-pie programs, the
# .so) and without a stack protector, so that it calls nothing of any libc
# and one build serves glibc and musl.  The .so needs no libc either.
$(SDK_B)/tfork.o: sdk/crt/tfork.c sdk/include/intravisor.h sdk/include/iv_hostcalls.h
	@mkdir -p $(dir $@)
	$(CC) -O2 -g -fPIC -fno-stack-protector $(WARN) -Isdk/include -c -o $@ $<

$(SDK_B)/ipc.o: sdk/crt/ipc.c sdk/include/intravisor.h sdk/include/iv_hostcalls.h sdk/include/iv_channel.h
	@mkdir -p $(dir $@)
	$(CC) -O2 -g -fPIC -fno-stack-protector $(WARN) -Isdk/include -c -o $@ $<

$(SDK_B)/libintravisor.a: $(SDK_B)/tfork.o $(SDK_B)/ipc.o
	rm -f $@ && ar rcs $@ $^

$(SDK_B)/$(SDK_SONAME): $(SDK_B)/tfork.o $(SDK_B)/ipc.o
	$(CC) -shared -nostdlib -Wl,-soname,$(SDK_SONAME) -Wl,--no-undefined -Wl,-z,noexecstack -o $@ $^

$(SDK_B)/libintravisor.so: $(SDK_B)/$(SDK_SONAME)
	ln -sf $(SDK_SONAME) $@

$(B)/runtime/hello_world/libhello.so: runtime/baremetal/hello_world/hello.c $(B)/libivrt.a
	@mkdir -p $(dir $@)
	$(CC) $(CVM_CFLAGS) $(CVM_LDFLAGS) -Wl,-e,hello_c -o $@ $< $(B)/libivrt.a

$(B)/runtime/hello_multi/libhello_multi.so: runtime/baremetal/hello_multi/hello_multi.c $(B)/libivrt.a
	@mkdir -p $(dir $@)
	$(CC) $(CVM_CFLAGS) $(CVM_LDFLAGS) -Wl,-e,hello_multi -o $@ $< $(B)/libivrt.a

$(B)/runtime/hc_test/libhc_test.so: runtime/baremetal/hc_test/hc_test.c $(B)/libivrt.a
	@mkdir -p $(dir $@)
	$(CC) $(CVM_CFLAGS) $(CVM_LDFLAGS) -Wl,-e,hc_test -o $@ $< $(B)/libivrt.a

$(B)/runtime/heap_template/libheap.so: runtime/baremetal/heap_template/heap.c $(B)/libivrt.a
	@mkdir -p $(dir $@)
	$(CC) $(CVM_CFLAGS) $(CVM_LDFLAGS) -Wl,-e,heap_main -o $@ $< $(B)/libivrt.a

$(B)/runtime/mt_template/libmt.so: runtime/baremetal/mt_template/mt.c $(B)/libivrt.a
	@mkdir -p $(dir $@)
	$(CC) $(CVM_CFLAGS) $(CVM_LDFLAGS) -Wl,-e,mt_main -o $@ $< $(B)/libivrt.a

$(B)/runtime/two_layers/libouter_h.so: runtime/baremetal/two_layers/outer.c $(B)/libivrt.a
	@mkdir -p $(dir $@)
	$(CC) $(CVM_CFLAGS) $(CVM_LDFLAGS) -Wl,-e,outer_main -o $@ $< $(B)/libivrt.a

$(B)/runtime/two_layers/libinner_h.so: runtime/baremetal/two_layers/inner.c $(B)/libivrt.a
	@mkdir -p $(dir $@)
	$(CC) $(CVM_CFLAGS) $(CVM_LDFLAGS) -Wl,-e,inner_main -o $@ $< $(B)/libivrt.a

POSIX_CFLAGS := -O2 -static -Wl,-Ttext-segment=0x20000000 -Isdk/include
DUK_SRC := /usr/share/duktape

# Debian's source, not ours: built without our warnings.
$(B)/runtime/duktape/duktape.o: $(DUK_SRC)/duktape.c | deps
	@mkdir -p $(dir $@)
	musl-gcc -O2 -I$(DUK_SRC) -c -o $@ $<

$(B)/runtime/duktape/duktape: runtime/posix/duktape/duk_workload.c $(B)/runtime/duktape/duktape.o $(SDK_B)/libintravisor.a
	musl-gcc $(POSIX_CFLAGS) $(WARN) -I$(DUK_SRC) -o $@ $< $(B)/runtime/duktape/duktape.o $(SDK_B)/libintravisor.a -lm

# mnist: Debian's onnx.proto (libonnx-dev) compiled by protoc-c
# (protobuf-c-compiler) at build time, and Debian's libprotobuf-c.a
# (libprotobuf-c-dev) linked statically into the musl program: it needs
# nothing of glibc (malloc, mem*, str*, __assert_fail, __stack_chk_fail).
# musl-gcc searches no /usr/include, so protobuf-c's headers are reached
# through a link of their own.  The model and the held-out digits on its
# disk come from scripts/mnist_model.py.
MNIST_B    := $(B)/runtime/mnist
ONNX_PROTO := /usr/include/onnx/onnx.proto
MNIST_SRC  := runtime/posix/mnist/mnist.c runtime/posix/mnist/model.c

$(MNIST_B)/onnx.pb-c.c: $(ONNX_PROTO) | deps
	@mkdir -p $(MNIST_B)/include
	ln -sfn /usr/include/protobuf-c $(MNIST_B)/include/protobuf-c
	protoc-c --c_out=$(MNIST_B) -I$(dir $(ONNX_PROTO)) $(ONNX_PROTO)
$(MNIST_B)/onnx.pb-c.h: $(MNIST_B)/onnx.pb-c.c

# Generated from Debian's file, not ours: built without our warnings.
$(MNIST_B)/onnx.pb-c.o: $(MNIST_B)/onnx.pb-c.c
	musl-gcc -O2 -I$(MNIST_B)/include -c -o $@ $<

$(MNIST_B)/mnist: $(MNIST_SRC) runtime/posix/mnist/model.h $(MNIST_B)/onnx.pb-c.h \
		  $(MNIST_B)/onnx.pb-c.o $(SDK_B)/libintravisor.a
	musl-gcc $(POSIX_CFLAGS) $(WARN) -I$(MNIST_B) -I$(MNIST_B)/include -o $@ $(MNIST_SRC) \
	  $(MNIST_B)/onnx.pb-c.o $(SDK_B)/libintravisor.a "$$($(CC) -print-file-name=libprotobuf-c.a)"

# Makes the model and the held-out digits again, with Debian's python3 (its
# python3-sklearn and python3-onnx): the same files on the same packages.
.PHONY: mnist-model
mnist-model:
	@sh scripts/deps.sh model
	/usr/bin/python3 scripts/mnist_model.py

$(B)/runtime/file/file: runtime/posix/file/file.c $(SDK_B)/libintravisor.a
	@mkdir -p $(dir $@)
	musl-gcc $(POSIX_CFLAGS) $(WARN) -o $@ $< $(SDK_B)/libintravisor.a

# The seed's cap_file app, a program (no range); its disk is an empty root
# but for /cap, where the monitor binds the cap files it may use.
$(B)/runtime/cap_file/cap_file: runtime/posix/cap_file/cap_file.c
	@mkdir -p $(dir $@) $(dir $@)disk/cap
	musl-gcc -O2 -static $(WARN) -o $@ $<

# The seed's cap_stream app, a program using the SDK's streams.
$(B)/runtime/cap_stream/cap_stream: runtime/posix/cap_stream/cap_stream.c $(SDK_B)/libintravisor.a
	@mkdir -p $(dir $@)
	musl-gcc -O2 -static $(WARN) -Isdk/include -o $@ $< $(SDK_B)/libintravisor.a

# file.yaml's disk: a copy of runtime/posix/file/disk owned by the uid the
# monitor gives the cVM (the forks create text_new in it), with `readonly`
# read-only to it.  Giving it away needs root, as running cVMs does.
FILE_DISK := $(B)/runtime/file/disk
$(FILE_DISK).stamp: $(wildcard runtime/posix/file/disk/*) runtime/posix/file/file.yaml $(B)/intravisor
	rm -rf $(FILE_DISK) && mkdir -p $(FILE_DISK)
	cp runtime/posix/file/disk/* $(FILE_DISK)/
	chmod 0444 $(FILE_DISK)/readonly
	ids=$$($(B)/intravisor --ids -y runtime/posix/file/file.yaml | awk '$$1 == "file" {print $$2 ":" $$3}') && \
	  if [ "$$(id -u)" = 0 ]; then chown -R "$$ids" $(FILE_DISK); \
	  else echo "note: $(FILE_DISK) needs chown -R $$ids (as root) for file.yaml"; fi
	touch $@

# ---- Real programs (runtime/posix/{busybox,python,lua,sqlite}): Debian's
# own binaries, each cVM's disk a root made of the installed Debian files by
# scripts/mkroot.sh.  Each root is made once (rm build/roots/X.stamp to make
# it again).  The static Lua interpreter and speedtest1 are built from
# Debian's source packages (scripts/debsrc.sh: apt-get source from
# deb.debian.org, bookworm) against Debian's liblua5.4.a and libsqlite3.
ROOTS_B := $(B)/roots
ROOT_STAMPS := $(ROOTS_B)/busybox.stamp $(ROOTS_B)/python3.stamp $(ROOTS_B)/lua.stamp $(ROOTS_B)/sqlite.stamp
PROGRAMS := $(ROOT_STAMPS) $(B)/runtime/lua/lua-static $(B)/runtime/sqlite/speedtest1 \
	    $(ROOTS_B)/pyworkload.stamp
MULTIARCH := $(shell $(CC) -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)

.PHONY: programs
programs: $(PROGRAMS)

$(ROOTS_B)/busybox.stamp: | deps
	scripts/mkroot.sh $(ROOTS_B)/busybox /bin/busybox
	touch $@

# python3 and its whole standard library (the packages of the version
# /usr/bin/python3 is), dash as /bin/sh and sha256sum for its subprocesses.
$(ROOTS_B)/python3.stamp: | deps
	py=$$(basename $$(readlink -f /usr/bin/python3)) && \
	  scripts/mkroot.sh $(ROOTS_B)/python3 python3 /bin/sh sha256sum \
	    --pkg $$py $$py-minimal lib$$py-minimal lib$$py-stdlib
	touch $@

# lua5.4, and dash and tr for its os.execute and io.popen.
$(ROOTS_B)/lua.stamp: | deps
	scripts/mkroot.sh $(ROOTS_B)/lua lua5.4 /bin/sh tr
	touch $@

# The seed's python workload (runtime/posix/pyworkload): the python3 root
# (hard links) with the workload and the SDK's Python module in /app.
$(ROOTS_B)/pyworkload.stamp: $(ROOTS_B)/python3.stamp runtime/posix/pyworkload/workload.py \
			     sdk/python/intravisor.py
	rm -rf $(ROOTS_B)/pyworkload && cp -al $(ROOTS_B)/python3 $(ROOTS_B)/pyworkload
	mkdir -p $(ROOTS_B)/pyworkload/app
	cp runtime/posix/pyworkload/workload.py sdk/python/intravisor.py $(ROOTS_B)/pyworkload/app/
	touch $@

$(ROOTS_B)/sqlite.stamp: | deps
	scripts/mkroot.sh $(ROOTS_B)/sqlite sqlite3
	touch $@

# Debian ships liblua5.4.a but not lua.c: the interpreter's source comes from
# Debian's lua5.4 source package, built as Debian builds it (LUA_COMPAT_5_3,
# LUA_USE_LINUX, no readline), static-pie.
$(B)/src/lua5.4/src/src/lua.c: | deps
	sh scripts/debsrc.sh liblua5.4-dev $(B)/src/lua5.4

$(B)/runtime/lua/lua-static: $(B)/src/lua5.4/src/src/lua.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -static-pie -DLUA_COMPAT_5_3 -DLUA_USE_LINUX -I$(dir $<) -o $@ $< \
	  /usr/lib/$(MULTIARCH)/liblua5.4.a -lm

# SQLite's speedtest1.c from Debian's sqlite3 source package (the rest of
# that 180 MB tree is not kept), linked against Debian's libsqlite3.
$(B)/src/sqlite3/speedtest1.c: | deps
	sh scripts/debsrc.sh libsqlite3-dev $(B)/src/sqlite3
	cp $(B)/src/sqlite3/src/test/speedtest1.c $@
	rm -rf $(B)/src/sqlite3/src $(B)/src/sqlite3/get/*.tar.*

$(B)/runtime/sqlite/speedtest1: $(B)/src/sqlite3/speedtest1.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -o $@ $< -lsqlite3 -lm

# Test cVMs: each tests/cvm/NAME.c has entry cvm_main.
$(B)/tests/%.so: tests/cvm/%.c $(B)/libivrt.a
	@mkdir -p $(dir $@)
	$(CC) $(CVM_CFLAGS) $(CVM_LDFLAGS) -Wl,-e,cvm_main -o $@ $< $(B)/libivrt.a

# Unmodified libc programs: static musl executables, linked where a cVM range starts.
$(B)/tests/posix/%: tests/posix/%.c $(SDK_B)/libintravisor.a
	@mkdir -p $(dir $@)
	musl-gcc -O2 -static -Wl,-Ttext-segment=0x20000000 $(WARN) -Isdk/include -o $@ $< $(SDK_B)/libintravisor.a

# The same programs against glibc (static, linked where a cVM range starts).
$(B)/tests/glibc/%: tests/posix/%.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -static -pthread -Wl,-Ttext-segment=0x20000000 $(WARN) -o $@ $<

# The same monitor with AddressSanitizer and UBSan, for the tests.
ASAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
$(B)/asan/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ASAN_FLAGS) $(WARN) $(CPPFLAGS) -c -o $@ $<

$(B)/asan/intravisor: $(MON_SRC:%.c=$(B)/asan/%.o) $(B)/iv-cell
	$(CC) $(ASAN_FLAGS) -o $@ $(MON_SRC:%.c=$(B)/asan/%.o) $(LDLIBS)
	cp $(B)/iv-cell $(B)/asan/iv-cell

UNIT_TESTS := $(patsubst tests/unit/%.c,$(B)/tests/unit/%,$(wildcard tests/unit/*.c))
$(B)/tests/unit/%: tests/unit/%.c $(MON_SRC:%.c=$(B)/asan/%.o)
	@mkdir -p $(dir $@)
	$(CC) $(ASAN_FLAGS) $(WARN) $(CPPFLAGS) -o $@ $< $(filter-out $(B)/asan/src/front/main.o,$(MON_SRC:%.c=$(B)/asan/%.o)) $(LDLIBS)

demo: all
	cd runtime/baremetal/hello_world && ../../../$(B)/intravisor -y hello.yaml

# Every test with forks made by mapping (the default), then the fork tests
# again with forks made by clone(): the two are interchangeable ...
FORK_TESTS := tfork libc_forks program_forks program_template program_host_save duktape \
	      file_example mnist pyworkload sdk fork_mode reuse
# ... and the tests of baremetal cVMs again with their cells made ahead
# (IV_POOL=2, README "Warm cells"): a parked cell is as a new one.
POOL_TESTS := test_escape_ test_image_ test_hello_world test_exit_code test_native_exit \
	      test_returning test_crash_reports test_partial_line test_cvms_run test_wait_ \
	      test_sigterm test_monitor_killed test_cap_file_written_by_one test_hc_test test_tfork_
test: all $(B)/asan/intravisor $(TEST_CVMS) $(UNIT_TESTS) $(PROGRAMS)
	@IV_AGAIN_CLONE="$(FORK_TESTS)" IV_AGAIN_POOL="$(POOL_TESTS)" bash tests/run.sh

# libFuzzer on the ELF parser, bounded (FUZZ_SECONDS).
FUZZ_SECONDS ?= 20
$(B)/fuzz/fuzz_elf: tests/fuzz/fuzz_elf.c src/loader/elf.c src/base/error.c $(HDRS)
	@mkdir -p $(dir $@)
	clang -O1 -g -fsanitize=fuzzer,address,undefined $(CPPFLAGS) -o $@ tests/fuzz/fuzz_elf.c src/loader/elf.c src/base/error.c
$(B)/fuzz/fuzz_config: tests/fuzz/fuzz_config.c src/front/config.c src/base/error.c src/cell/files.c $(HDRS)
	@mkdir -p $(dir $@)
	clang -O1 -g -fsanitize=fuzzer,address,undefined $(CPPFLAGS) -o $@ tests/fuzz/fuzz_config.c src/front/config.c src/base/error.c src/cell/files.c -lyaml
$(B)/fuzz/fuzz_program: tests/fuzz/fuzz_program.c src/loader/program.c src/base/error.c $(HDRS)
	@mkdir -p $(dir $@)
	clang -O1 -g -fsanitize=fuzzer,address,undefined $(CPPFLAGS) -o $@ tests/fuzz/fuzz_program.c src/loader/program.c src/base/error.c
# The image harness includes image.c itself (for its hash and layout).
FUZZ_IMAGE_SRC := $(filter-out src/front/main.c src/features/image/image.c,$(MON_SRC))
$(B)/fuzz/fuzz_image: tests/fuzz/fuzz_image.c $(MON_SRC) $(HDRS)
	@mkdir -p $(dir $@)
	clang -O1 -g -fsanitize=fuzzer,address,undefined $(CPPFLAGS) -o $@ tests/fuzz/fuzz_image.c $(FUZZ_IMAGE_SRC) $(LDLIBS)
fuzz-deps:
	@sh scripts/deps.sh fuzz
$(B)/fuzz/fuzz_elf $(B)/fuzz/fuzz_config $(B)/fuzz/fuzz_image $(B)/fuzz/fuzz_program: | fuzz-deps
fuzz: all $(B)/fuzz/fuzz_elf $(B)/fuzz/fuzz_config $(B)/fuzz/fuzz_image $(B)/fuzz/fuzz_program
	@mkdir -p $(B)/fuzz/corpus-elf $(B)/fuzz/corpus-config
	cp $(EXAMPLES) $(B)/iv-cell $(B)/fuzz/corpus-elf/
	cp runtime/baremetal/*/*.yaml $(B)/fuzz/corpus-config/
	$(B)/fuzz/fuzz_elf -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 -max_len=65536 -artifact_prefix=$(B)/fuzz/ $(B)/fuzz/corpus-elf
	$(B)/fuzz/fuzz_config -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 -max_len=8192 -artifact_prefix=$(B)/fuzz/ $(B)/fuzz/corpus-config
	@mkdir -p $(B)/fuzz/corpus-image
	$(B)/intravisor -y tests/fuzz/image_seed.yaml 2>/dev/null && cp $(B)/fuzz/seed-image/image.img $(B)/fuzz/corpus-image/seed
	$(B)/fuzz/fuzz_image -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 -max_len=16384 -artifact_prefix=$(B)/fuzz/ $(B)/fuzz/corpus-image
	@mkdir -p $(B)/fuzz/corpus-program
	cp /bin/true $(B)/runtime/duktape/duktape $(B)/fuzz/corpus-program/
	printf '#!/bin/sh -e\n' >$(B)/fuzz/corpus-program/script
	$(B)/fuzz/fuzz_program -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 -max_len=65536 -artifact_prefix=$(B)/fuzz/ $(B)/fuzz/corpus-program
# The hostcall fuzzer cVM (tests/cvm/hc_fuzz.c) under the ASan monitor for
# FUZZ_SECONDS, in rounds of fresh seeds from HC_FUZZ_SEED (tests/fuzz/hc_fuzz.sh).
HC_FUZZ_SEED ?= 1
fuzz-hostcall: all $(B)/asan/intravisor $(B)/tests/hc_fuzz.so
	bash tests/fuzz/hc_fuzz.sh $(FUZZ_SECONDS) $(HC_FUZZ_SEED)

clean:
	rm -rf $(B)

# ---- bench: hostcall round trip and fresh cVM start-up against their peers.
# `make bench` builds build/bench/{hostcall,iv-cell,peer_start,cvm/*.so} and
# runs build/bench/hostcall $(BENCH_ARGS) (see bench/hostcall.c for options).
BENCH_B      := $(B)/bench
BENCH_CFLAGS := -O2 -g
BENCH_CVMS   := $(BENCH_B)/cvm/bench_hc.so $(BENCH_B)/cvm/bench_start.so
BENCH_ARGS   ?=

# The monitor finds its cell stub next to its own executable.
$(BENCH_B)/iv-cell: $(B)/iv-cell
	@mkdir -p $(dir $@)
	cp $< $@

$(BENCH_B)/hostcall: bench/hostcall.c bench/common.c bench/common.h bench/bench.h $(B)/libintravisor.a $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) $(WARN) $(CPPFLAGS) -Ibench -o $@ bench/hostcall.c bench/common.c $(B)/libintravisor.a $(LDLIBS)

$(BENCH_B)/cvm/%.so: bench/cvm/%.c bench/cvm/cvm.h bench/bench.h $(B)/libivrt.a $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CVM_CFLAGS) $(CVM_LDFLAGS) -Wl,-e,cvm_main -o $@ $< $(B)/libivrt.a

# Static and freestanding, like the cVMs: no libc start-up before its first action.
$(BENCH_B)/peer_start: bench/peer_start.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -g -static -nostdlib -ffreestanding -fno-stack-protector -fno-pie -no-pie \
	  -fno-builtin $(WARN) -Wl,-z,noexecstack -Wl,--build-id=none -o $@ $<

bench: deps $(BENCH_B)/hostcall $(BENCH_B)/iv-cell $(BENCH_B)/peer_start $(BENCH_CVMS)
	$(BENCH_B)/hostcall $(BENCH_ARGS)

# ---- bench-tfork: a TFORK fork against a cold start of the same cVM, raw
# fork() and posix_spawn, at 1 and 64 MiB, and the memory of concurrent forks.
# `make bench-tfork` builds build/bench/{tfork,iv-cell,peer_start,cvm/tfork_heap.so}
# and runs build/bench/tfork $(BENCH_TFORK_ARGS) (see bench/tfork.c for options).
BENCH_TFORK_ARGS ?=

$(BENCH_B)/tfork: bench/tfork.c bench/common.c bench/common.h bench/cvm/tfork.h $(B)/libintravisor.a $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) $(WARN) $(CPPFLAGS) -Ibench -o $@ bench/tfork.c bench/common.c $(B)/libintravisor.a $(LDLIBS)

$(BENCH_B)/cvm/tfork_heap.so: bench/cvm/tfork.h

.PHONY: bench-tfork
bench-tfork: deps $(BENCH_B)/tfork $(BENCH_B)/iv-cell $(BENCH_B)/peer_start $(BENCH_B)/cvm/tfork_heap.so
	$(BENCH_B)/tfork $(BENCH_TFORK_ARGS)

# ---- bench-workloads: TFORK of real programs (duktape-js evaluating one
# script, mnist classifying one digit, python running one handler) against
# the same program started natively, a cold cVM and a restore from an
# image, and the memory of concurrent forks.  `make bench-workloads` builds
# build/bench/{workloads,iv-cell} and build/bench/cvm/{duktape,base64.js,
# mnist,mnist.onnx,digit.pgm}, links build/bench/cvm/pyworkload to python's
# root (build/roots/pyworkload) and runs build/bench/workloads
# $(BENCH_WORKLOADS_ARGS) (see bench/workloads.c).
BENCH_WORKLOADS_ARGS ?=

$(BENCH_B)/workloads: bench/workloads.c bench/common.c bench/common.h $(B)/libintravisor.a $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) $(WARN) $(CPPFLAGS) -Ibench -o $@ bench/workloads.c bench/common.c $(B)/libintravisor.a $(LDLIBS)

$(BENCH_B)/cvm/duktape: $(B)/runtime/duktape/duktape
	@mkdir -p $(dir $@)
	cp $< $@

$(BENCH_B)/cvm/base64.js: runtime/posix/duktape/js/base64.js
	@mkdir -p $(dir $@)
	cp $< $@

$(BENCH_B)/cvm/mnist: $(B)/runtime/mnist/mnist
	@mkdir -p $(dir $@)
	cp $< $@

$(BENCH_B)/cvm/mnist.onnx: runtime/posix/mnist/disk/mnist.onnx
	@mkdir -p $(dir $@)
	cp $< $@

# Held-out image 001: a 3, which the model classifies as a 3 (held_out.txt).
$(BENCH_B)/cvm/digit.pgm: runtime/posix/mnist/disk/digits/001.pgm
	@mkdir -p $(dir $@)
	cp $< $@

# Python's root, as the bench finds it (it copies it with cp -al).  The link
# never changes: the root is order-only.
$(BENCH_B)/cvm/pyworkload: | $(ROOTS_B)/pyworkload.stamp
	@mkdir -p $(dir $@)
	ln -sfn ../../roots/pyworkload $@

BENCH_WORKLOAD_FILES := $(BENCH_B)/cvm/duktape $(BENCH_B)/cvm/base64.js $(BENCH_B)/cvm/mnist \
			$(BENCH_B)/cvm/mnist.onnx $(BENCH_B)/cvm/digit.pgm $(BENCH_B)/cvm/pyworkload

.PHONY: bench-workloads
bench-workloads: deps $(BENCH_B)/workloads $(BENCH_B)/iv-cell $(BENCH_WORKLOAD_FILES)
	$(BENCH_B)/workloads $(BENCH_WORKLOADS_ARGS)

# ---- bench-programs: real programs (Debian's python3, lua5.4, sqlite3) run
# natively (posix_spawn of the host's binary) and as program cVMs from roots
# of the same files (`make programs`): python3 start-up, a CPU-bound Lua
# script, an insert-heavy SQLite database file, a stat/open/read loop over
# 1000 small files.  `make bench-programs` builds build/bench/{programs,iv-cell}
# and the roots, and runs build/bench/programs $(BENCH_PROGRAMS_ARGS) (see
# bench/programs.c for options).
BENCH_PROGRAMS_ARGS ?=

$(BENCH_B)/programs: bench/programs.c bench/common.c bench/common.h $(B)/libintravisor.a $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) $(WARN) $(CPPFLAGS) -Ibench -o $@ bench/programs.c bench/common.c $(B)/libintravisor.a $(LDLIBS)

.PHONY: bench-programs
bench-programs: deps $(BENCH_B)/programs $(BENCH_B)/iv-cell $(ROOTS_B)/python3.stamp $(ROOTS_B)/lua.stamp $(ROOTS_B)/sqlite.stamp
	$(BENCH_B)/programs $(BENCH_PROGRAMS_ARGS)
# ---- bench-ipc: cap streams and cap calls between cVMs against a pipe, a
# Unix socket, memcpy between processes, a futex ping-pong and a pipe round
# trip.  `make bench-ipc` builds build/bench/{ipc,iv-cell,cvm/bench_ipc.so}
# and runs build/bench/ipc $(BENCH_IPC_ARGS) (see bench/ipc.c for options).
BENCH_IPC_ARGS ?=

$(BENCH_B)/ipc: bench/ipc.c bench/common.c bench/common.h bench/cvm/ipc.h $(B)/libintravisor.a $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) $(WARN) $(CPPFLAGS) -Ibench -o $@ bench/ipc.c bench/common.c $(B)/libintravisor.a $(LDLIBS)

$(BENCH_B)/cvm/bench_ipc.so: bench/cvm/ipc.h

.PHONY: bench-ipc
bench-ipc: deps $(BENCH_B)/ipc $(BENCH_B)/iv-cell $(BENCH_B)/cvm/bench_ipc.so
	$(BENCH_B)/ipc $(BENCH_IPC_ARGS)

# ---- install: the monitor (with its cell stub beside it, where it looks for
# it), the SDK headers, libintravisor.a/.so (hosted programs), libivrt.a
# (freestanding cVMs), intravisor.pc and the Python module.
PREFIX       ?= /usr/local
BINDIR       ?= $(PREFIX)/bin
LIBDIR       ?= $(PREFIX)/lib
INCLUDEDIR   ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
PYTHONDIR    ?= $(PREFIX)/lib/python3/dist-packages

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) \
	  $(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(PYTHONDIR)
	install -m 755 $(B)/intravisor $(B)/iv-cell $(DESTDIR)$(BINDIR)/
	ln -sf intravisor $(DESTDIR)$(BINDIR)/monitor
	install -m 644 sdk/include/intravisor.h sdk/include/iv_hostcalls.h sdk/include/iv_channel.h \
	  $(DESTDIR)$(INCLUDEDIR)/
	install -m 644 $(SDK_B)/libintravisor.a $(B)/libivrt.a $(DESTDIR)$(LIBDIR)/
	install -m 755 $(SDK_B)/$(SDK_SONAME) $(DESTDIR)$(LIBDIR)/
	ln -sf $(SDK_SONAME) $(DESTDIR)$(LIBDIR)/libintravisor.so
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' \
	  -e 's|@VERSION@|$(VERSION)|' sdk/intravisor.pc.in >$(DESTDIR)$(PKGCONFIGDIR)/intravisor.pc
	sed -e 's|^_LIBDIR = None|_LIBDIR = "$(LIBDIR)"|' sdk/python/intravisor.py \
	  >$(DESTDIR)$(PYTHONDIR)/intravisor.py

# Applies .clang-format to every C source and header.
format:
	clang-format -i $$(git ls-files '*.c' '*.h')

# ---- bench-net: a networked program cVM's start-up against a plain one, and
# Debian's redis-server in a cVM against the same natively (redis-benchmark
# SET and GET), medians and ratios (bench/net.sh; BENCH_NET_ARGS: RUNS ROUNDS N).
BENCH_NET_ARGS ?=
.PHONY: bench-net redis-root
redis-root: $(B)/roots/redis
$(B)/roots/redis: runtime/posix/redis/mkroot.sh | deps
	sh runtime/posix/redis/mkroot.sh $@
$(BENCH_B)/net_start: bench/net_start.c $(B)/libintravisor.a $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) $(WARN) $(CPPFLAGS) -o $@ bench/net_start.c $(B)/libintravisor.a $(LDLIBS)
bench-net: all $(B)/roots/redis $(BENCH_B)/net_start $(BENCH_B)/iv-cell
	bash bench/net.sh $(BENCH_NET_ARGS)
