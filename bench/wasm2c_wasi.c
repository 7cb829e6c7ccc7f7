// SPDX-License-Identifier: MIT
/* wasm2c_wasi.c - the host that runs a benchmark workload translated by Debian's wasm2c
 * (wabt 1.0.32), for the "wasm2c" column of make bench: the reference for the AOT tier
 * (plain wasm2c output compiled by gcc -O2, guard pages, no checkpoints).
 *
 * Built by bench/run.py with -DMOD=<module name given to wasm2c -n> and MOD_HEADER (its
 * header, quoted) next to the module's C
 * and wabt's wasm-rt-impl.c. It provides the WASI preview1 functions the workloads import
 * (args, fd_write, fd_seek, fd_fdstat_get, fd_close, proc_exit) on the real process: enough
 * for CPU-bound programs that print their result, not a general WASI host. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wasm-rt-impl.h"
#include "wasm-rt.h"

#include MOD_HEADER /* -DMOD_HEADER='"name.h"', the header wasm2c wrote */

#define CAT3(a, b, c)  a##b##c
#define XCAT3(a, b, c) CAT3(a, b, c)

#define INSTANCE    XCAT3(Z_, MOD, _instance_t)
#define INIT_MODULE XCAT3(Z_, MOD, _init_module)
#define INSTANTIATE XCAT3(Z_, MOD, _instantiate)
#define START       XCAT3(Z_, MOD, Z__start)
#define MEMORY      XCAT3(Z_, MOD, Z_memory)
#define WASI(name)  Z_wasi_snapshot_preview1Z_##name

struct Z_wasi_snapshot_preview1_instance_t {
    wasm_rt_memory_t *mem;
    int argc;
    char **argv;
};

static uint8_t *at(struct Z_wasi_snapshot_preview1_instance_t *w, uint32_t p, uint32_t n)
{
    if ((uint64_t)p + n > w->mem->size) {
        fprintf(stderr, "wasm2c host: guest pointer %u+%u out of bounds\n", p, n);
        exit(70);
    }
    return w->mem->data + p;
}

static void put32(struct Z_wasi_snapshot_preview1_instance_t *w, uint32_t p, uint32_t v)
{
    memcpy(at(w, p, 4), &v, 4); /* the workloads run on little-endian hosts only */
}

u32 WASI(args_sizes_get)(struct Z_wasi_snapshot_preview1_instance_t *w, u32 pc, u32 ps)
{
    uint32_t size = 0;
    for (int i = 0; i < w->argc; i++)
        size += (uint32_t)strlen(w->argv[i]) + 1;
    put32(w, pc, (uint32_t)w->argc);
    put32(w, ps, size);
    return 0;
}

u32 WASI(args_get)(struct Z_wasi_snapshot_preview1_instance_t *w, u32 pv, u32 pb)
{
    for (int i = 0; i < w->argc; i++) {
        uint32_t n = (uint32_t)strlen(w->argv[i]) + 1;
        memcpy(at(w, pb, n), w->argv[i], n);
        put32(w, pv + 4 * (uint32_t)i, pb);
        pb += n;
    }
    return 0;
}

u32 WASI(fd_write)(struct Z_wasi_snapshot_preview1_instance_t *w, u32 fd, u32 iovs, u32 n, u32 pw)
{
    uint32_t total = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t base, len;
        memcpy(&base, at(w, iovs + 8 * i, 4), 4);
        memcpy(&len, at(w, iovs + 8 * i + 4, 4), 4);
        const uint8_t *p = at(w, base, len);
        while (len) {
            ssize_t k = write((int)fd, p, len);
            if (k < 0 && errno == EINTR)
                continue;
            if (k < 0)
                return 8; /* badf, whatever the cause: these programs only print */
            p += k;
            len -= (uint32_t)k;
            total += (uint32_t)k;
        }
    }
    put32(w, pw, total);
    return 0;
}

u32 WASI(fd_seek)(struct Z_wasi_snapshot_preview1_instance_t *w, u32 fd, u64 off, u32 whence,
                  u32 pr)
{
    (void)w;
    (void)fd;
    (void)off;
    (void)whence;
    (void)pr;
    return 70; /* spipe: stdout is a pipe or terminal */
}

u32 WASI(fd_fdstat_get)(struct Z_wasi_snapshot_preview1_instance_t *w, u32 fd, u32 p)
{
    uint8_t *s = at(w, p, 24);
    memset(s, 0, 24);
    s[0] = fd <= 2 ? 2 : 4; /* character device (stdio), else regular file */
    uint64_t rights = ~(uint64_t)0;
    memcpy(s + 8, &rights, 8);
    memcpy(s + 16, &rights, 8);
    return 0;
}

u32 WASI(fd_close)(struct Z_wasi_snapshot_preview1_instance_t *w, u32 fd)
{
    (void)w;
    (void)fd;
    return 0;
}

void WASI(proc_exit)(struct Z_wasi_snapshot_preview1_instance_t *w, u32 code)
{
    (void)w;
    exit((int)code);
}

int main(int argc, char **argv)
{
    static INSTANCE inst;
    static struct Z_wasi_snapshot_preview1_instance_t wasi;
    wasm_rt_init();
    INIT_MODULE();
    wasi.argc = argc;
    wasi.argv = argv;
    INSTANTIATE(&inst, &wasi);
    wasi.mem = MEMORY(&inst);
    wasm_rt_trap_t trap = wasm_rt_impl_try();
    if (trap != WASM_RT_TRAP_NONE) {
        fprintf(stderr, "wasm2c host: trap %d\n", (int)trap);
        return 134;
    }
    START(&inst);
    return 0;
}
