/* SPDX-License-Identifier: MIT */
/* test_snapshot.c - images: a run stopped at many steps, saved, restored in a fresh engine
 * and finished must equal the straight run; chains of hops; idempotence; hostile images. */
#include "harness.h"

#include <waft/waft_snapshot.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RUN_N 300u

/* The observable result of a finished run: return value, globals, a memory digest. */
typedef struct outcome {
    uint64_t ret;
    uint32_t count;
    uint64_t acc;
    uint32_t fref_ok;
    uint64_t mem_digest;
} outcome;

static uint64_t fnv(const uint8_t *p, uint64_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (uint64_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

static bool call0(waft_store *s, waft_extern f, waft_val *out)
{
    return waft_func_call(s, f, NULL, 0, out, 1) == WAFT_OK;
}

/* Reads the outcome of a store/instance whose `run` returned `ret`. */
static void observe(waft_store *s, const waft_instance *inst, uint64_t ret, outcome *o)
{
    waft_extern f, mem;
    waft_val v;
    memset(o, 0, sizeof *o);
    o->ret = ret;
    if (CHECK(waft_instance_export(inst, "count", 5, &f) == WAFT_OK) && CHECK(call0(s, f, &v)))
        o->count = v.of.i32;
    if (CHECK(waft_instance_export(inst, "acc", 3, &f) == WAFT_OK) && CHECK(call0(s, f, &v)))
        o->acc = v.of.i64;
    if (CHECK(waft_instance_export(inst, "fref_is_tri", 11, &f) == WAFT_OK) &&
        CHECK(call0(s, f, &v)))
        o->fref_ok = v.of.i32;
    if (CHECK(waft_instance_memory(inst, &mem) == WAFT_OK)) {
        uint64_t size;
        uint8_t *d = waft_memory_data(s, mem, &size);
        o->mem_digest = fnv(d, size);
    }
}

static bool same(const outcome *a, const outcome *b)
{
    return CHECK_EQ(a->ret, b->ret) && CHECK_EQ(a->count, b->count) && CHECK_EQ(a->acc, b->acc) &&
           CHECK_EQ(a->fref_ok, b->fref_ok) && CHECK_EQ(a->mem_digest, b->mem_digest);
}

static bool straight(outcome *o)
{
    unit_env env;
    if (!unit_env_open(&env, "snap.wasm", NULL, NULL, 0))
        return false;
    waft_val arg = unit_i32(RUN_N), res;
    bool ok = CHECK_RESULT(waft_func_call(env.store, unit_export(&env, "run"), &arg, 1, &res, 1),
                           WAFT_OK);
    if (ok)
        observe(env.store, env.inst, res.of.i64, o);
    unit_env_close(&env);
    return ok;
}

/* Restores `image` into a fresh engine; on success returns engine/store/module/instance. */
typedef struct restored {
    waft_engine *engine;
    waft_store *store;
    waft_module *module;
    waft_instance *inst;
} restored;

static bool restore(const uint8_t *image, size_t len, restored *r)
{
    waft_error err;
    waft_image *img = NULL;
    memset(r, 0, sizeof *r);
    if (!CHECK_RESULT(waft_engine_new(NULL, &r->engine), WAFT_OK))
        return false;
    if (!CHECK_RESULT(waft_image_decode(r->engine, image, len, &img, &err), WAFT_OK)) {
        fprintf(stderr, "  decode: %s\n", err.message);
        return false;
    }
    size_t mlen;
    const uint8_t *mbytes = waft_image_module(img, &mlen);
    bool ok = CHECK(mbytes != NULL) &&
              CHECK_RESULT(waft_module_new(r->engine, mbytes, mlen, &r->module, &err), WAFT_OK) &&
              CHECK_RESULT(waft_store_new(r->engine, &r->store), WAFT_OK);
    if (ok && !CHECK_RESULT(waft_image_restore(img, r->store, r->module, NULL, 0, &r->inst, &err),
                            WAFT_OK)) {
        fprintf(stderr, "  restore: %s\n", err.message);
        ok = false;
    }
    waft_image_free(img);
    return ok;
}

static void restored_free(restored *r)
{
    waft_store_free(r->store);
    waft_module_free(r->module);
    waft_engine_free(r->engine);
}

/* Runs `run` until `steps` instructions, then saves: returns a malloc'ed image or NULL if the
 * run finished first. */
static uint8_t *run_and_save(uint64_t steps, size_t *len, bool *finished)
{
    unit_env env;
    uint8_t *image = NULL;
    *finished = false;
    if (!unit_env_open(&env, "snap.wasm", NULL, NULL, 0))
        return NULL;
    waft_val arg = unit_i32(RUN_N), res;
    waft_store_set_fuel(env.store, steps);
    waft_result r = waft_func_call(env.store, unit_export(&env, "run"), &arg, 1, &res, 1);
    if (r == WAFT_OK) {
        *finished = true;
    } else if (CHECK_RESULT(r, WAFT_SUSPENDED)) {
        waft_error err;
        if (!CHECK_RESULT(waft_image_encode(env.store, env.inst, NULL, &image, len, &err), WAFT_OK))
            fprintf(stderr, "  encode: %s\n", err.message);
        /* seeds for the image fuzzer (make fuzz-image) */
        const char *dir = getenv("WAFT_UNIT_IMAGE_DIR");
        if (image && dir) {
            char path[512];
            snprintf(path, sizeof path, "%s/snap-%llu.img", dir, (unsigned long long)steps);
            FILE *f = fopen(path, "wb");
            if (f) {
                fwrite(image, 1, *len, f);
                fclose(f);
            }
        }
        waft_store_abandon(env.store);
    }
    unit_env_close(&env);
    return image;
}

void test_snapshot_roundtrip_many_steps(void)
{
    outcome want;
    REQUIRE(straight(&want));
    /* steps spread over the whole run, including the very first ones */
    uint64_t steps[] = { 1,    2,    3,    5,    8,    13,    40,    77,    150,   333,   1000,
                         1777, 2500, 4096, 6000, 9001, 12345, 20000, 30000, 45000, 60000, 80000 };
    int restored_ok = 0;
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        size_t len;
        bool finished;
        uint8_t *image = run_and_save(steps[i], &len, &finished);
        if (finished)
            break;
        if (!CHECK(image != NULL))
            continue;
        restored r;
        if (restore(image, len, &r)) {
            waft_store_set_fuel(r.store, UINT64_MAX);
            waft_val res;
            if (CHECK_RESULT(waft_store_resume(r.store, &res, 1), WAFT_OK)) {
                outcome got;
                observe(r.store, r.inst, res.of.i64, &got);
                if (same(&got, &want))
                    restored_ok++;
                else
                    fprintf(stderr, "  differs after a stop at step %llu\n",
                            (unsigned long long)steps[i]);
            }
        }
        restored_free(&r);
        free(image);
    }
    CHECK(restored_ok >= 20);
}

void test_snapshot_chain_and_idempotence(void)
{
    outcome want;
    REQUIRE(straight(&want));
    size_t len;
    bool finished;
    uint8_t *image = run_and_save(777, &len, &finished);
    REQUIRE(image != NULL);
    /* hop 1..4: restore, immediately save again (must be the same bytes), run a while, save */
    for (int hop = 0; hop < 4 && image; hop++) {
        restored r;
        if (!restore(image, len, &r)) {
            restored_free(&r);
            break;
        }
        uint8_t *again = NULL;
        size_t again_len = 0;
        waft_error err;
        if (CHECK_RESULT(waft_image_encode(r.store, r.inst, NULL, &again, &again_len, &err),
                         WAFT_OK)) {
            CHECK_EQ(again_len, len);
            CHECK(again_len == len && memcmp(again, image, len) == 0);
        }
        free(again);
        free(image);
        image = NULL;
        waft_store_set_fuel(r.store, 3000 + 1000 * (uint64_t)hop);
        waft_val res;
        waft_result rr = waft_store_resume(r.store, &res, 1);
        if (hop < 3) {
            if (CHECK_RESULT(rr, WAFT_SUSPENDED))
                CHECK_RESULT(waft_image_encode(r.store, r.inst, NULL, &image, &len, &err), WAFT_OK);
        } else {
            waft_store_set_fuel(r.store, UINT64_MAX);
            if (rr == WAFT_SUSPENDED)
                rr = waft_store_resume(r.store, &res, 1);
            if (CHECK_RESULT(rr, WAFT_OK)) {
                outcome got;
                observe(r.store, r.inst, res.of.i64, &got);
                same(&got, &want);
            }
        }
        restored_free(&r);
    }
    free(image);
}

/* CRC-32C, bitwise: the test's own, to forge images whose checksums are right. */
static uint32_t crc32c(uint32_t crc, const uint8_t *p, size_t n)
{
    crc = ~crc;
    while (n--) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
    }
    return ~crc;
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* Recomputes every record checksum and the END checksum of an (uncompressed) image:
 * records are a 24-byte header (tag, version, flags, stored u64, raw u64), the payload, and
 * a u32 CRC-32C of the payload. */
static void reseal(uint8_t *img, size_t len)
{
    size_t pos = 32;
    uint32_t chain = crc32c(0, img, 32);
    while (pos + 28 <= len) {
        uint32_t tag = le32(img + pos);
        uint64_t stored = le32(img + pos + 8) | ((uint64_t)le32(img + pos + 12) << 32);
        if (stored > len - pos - 28)
            return;
        if (tag == 0x20444e45u && stored >= 4) /* "END ": the chain of earlier records */
            put32(img + pos + 24, chain);
        put32(img + pos + 24 + stored, crc32c(0, img + pos + 24, (size_t)stored));
        chain = crc32c(chain, img + pos, 24);
        chain = crc32c(chain, img + pos + 24 + stored, 4);
        pos += 28 + (size_t)stored;
    }
}

/* Decodes and restores; true if it was accepted all the way. Must never crash. */
static bool accepts(const uint8_t *image, size_t len)
{
    restored r;
    memset(&r, 0, sizeof r);
    waft_error err;
    waft_image *img = NULL;
    bool ok = false;
    if (waft_engine_new(NULL, &r.engine) != WAFT_OK)
        return false;
    if (waft_image_decode(r.engine, image, len, &img, &err) == WAFT_OK) {
        size_t mlen;
        const uint8_t *mb = waft_image_module(img, &mlen);
        if (mb && waft_module_new(r.engine, mb, mlen, &r.module, &err) == WAFT_OK &&
            waft_store_new(r.engine, &r.store) == WAFT_OK &&
            waft_image_restore(img, r.store, r.module, NULL, 0, &r.inst, &err) == WAFT_OK)
            ok = true;
        else
            CHECK(err.message[0] != 0); /* a rejection always says why */
        waft_image_free(img);
    } else {
        CHECK_EQ(err.code, WAFT_ERR_IMAGE);
        CHECK(err.message[0] != 0);
    }
    restored_free(&r);
    return ok;
}

void test_snapshot_hostile_images(void)
{
    size_t len;
    bool finished;
    uint8_t *image = run_and_save(4096, &len, &finished);
    REQUIRE(image != NULL);
    REQUIRE(accepts(image, len));
    uint8_t *copy = malloc(len);
    REQUIRE(copy != NULL);
    /* every truncation is rejected */
    int truncated_rejected = 0, ntrunc = 0;
    for (size_t cut = 0; cut < len; cut += (cut < 256 ? 1 : 97)) {
        ntrunc++;
        truncated_rejected += !accepts(image, cut);
    }
    CHECK_EQ(truncated_rejected, ntrunc);
    /* bit flips anywhere are caught by the checksums */
    int flips_rejected = 0, nflips = 0;
    for (size_t at = 0; at < len; at += (at < 512 ? 1 : 61)) {
        memcpy(copy, image, len);
        copy[at] ^= (uint8_t)(1u << (at % 8));
        nflips++;
        flips_rejected += !accepts(copy, len);
    }
    CHECK_EQ(flips_rejected, nflips);
    /* crafted: bytes changed and checksums recomputed; must never crash (accepting a change
     * in a value is fine, the point is no crash and a message on rejection) */
    unsigned seed = 12345;
    for (int round = 0; round < 400; round++) {
        memcpy(copy, image, len);
        for (int k = 0; k < 4; k++) {
            seed = seed * 1103515245u + 12345u;
            size_t at = 32 + (seed >> 8) % (len - 32);
            seed = seed * 1103515245u + 12345u;
            copy[at] = (uint8_t)(seed >> 16);
        }
        reseal(copy, len);
        accepts(copy, len);
    }
    free(copy);
    free(image);
}
