/* SPDX-License-Identifier: MIT */
/* dynlib.h - optional libraries (libzstd, libcrypto) loaded when first needed, not at
 * start-up: a run that compresses nothing and checks no key never maps them.
 *
 * Each library is a table of function pointers named like the functions themselves, filled
 * once (pthread_once) from the library's versioned soname; callers write z->ZSTD_compress
 * where they would write ZSTD_compress. The types come from the library's own header, so a
 * call through the table is checked like a direct one.
 */
#ifndef WAFT_BASE_DYNLIB_H
#define WAFT_BASE_DYNLIB_H

#include "base/base.h"

#include <stddef.h>

#if defined(WAFT_HAVE_ZSTD)
#include <zstd.h>
#define WAFT_ZSTD_FUNCTIONS(X)  \
    X(ZSTD_compressBound)       \
    X(ZSTD_compress)            \
    X(ZSTD_isError)             \
    X(ZSTD_getFrameContentSize) \
    X(ZSTD_createDCtx)          \
    X(ZSTD_decompressStream)    \
    X(ZSTD_freeDCtx)
#define WAFT_DYNLIB_FIELD(f) __typeof__(&f) f;
typedef struct base_zstd {
    WAFT_ZSTD_FUNCTIONS(WAFT_DYNLIB_FIELD)
} base_zstd;
/* The table, or NULL with the reason ("libzstd.so.1: cannot open shared object file...")
 * in `why` (if not NULL). */
WAFT_INTERNAL const base_zstd *base_zstd_get(char *why, size_t cap);
#endif

#if defined(WAFT_HAVE_CRYPTO)
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>
#define WAFT_CRYPTO_FUNCTIONS(X)        \
    X(HMAC)                             \
    X(EVP_sha256)                       \
    X(EVP_MD_CTX_new)                   \
    X(EVP_MD_CTX_free)                  \
    X(EVP_DigestInit_ex)                \
    X(EVP_DigestUpdate)                 \
    X(EVP_DigestFinal_ex)               \
    X(EVP_MAC_fetch)                    \
    X(EVP_MAC_free)                     \
    X(EVP_MAC_CTX_new)                  \
    X(EVP_MAC_CTX_free)                 \
    X(EVP_MAC_init)                     \
    X(EVP_MAC_update)                   \
    X(EVP_MAC_final)                    \
    X(OSSL_PARAM_construct_utf8_string) \
    X(OSSL_PARAM_construct_end)         \
    X(CRYPTO_memcmp)
#ifndef WAFT_DYNLIB_FIELD
#define WAFT_DYNLIB_FIELD(f) __typeof__(&f) f;
#endif
typedef struct base_crypto {
    WAFT_CRYPTO_FUNCTIONS(WAFT_DYNLIB_FIELD)
} base_crypto;
WAFT_INTERNAL const base_crypto *base_crypto_get(char *why, size_t cap);
#endif

#endif
