/* SPDX-License-Identifier: MIT */
/* le.h - little-endian loads and stores of unaligned bytes: the one set of byte-order
 * helpers, for guest memory, images, WASI structures and the migration protocol alike.
 *
 * Self-contained (C11 and <string.h> only), so that every module may include it, the WASI
 * host too, which otherwise builds on the public API alone. On a little-endian host with a
 * GNU-compatible compiler a load or store is one memcpy (one instruction); elsewhere the
 * bytes are assembled one by one, which is right on any byte order.
 */
#ifndef WAFT_BASE_LE_H
#define WAFT_BASE_LE_H

#include <stdint.h>
#include <string.h>

static inline uint16_t base_load16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}
static inline uint32_t base_load32(const uint8_t *p)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
#else
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
#endif
}
static inline uint64_t base_load64(const uint8_t *p)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
#else
    return (uint64_t)base_load32(p) | ((uint64_t)base_load32(p + 4) << 32);
#endif
}
static inline void base_store16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static inline void base_store32(uint8_t *p, uint32_t v)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(p, &v, 4);
#else
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
#endif
}
static inline void base_store64(uint8_t *p, uint64_t v)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(p, &v, 8);
#else
    base_store32(p, (uint32_t)v);
    base_store32(p + 4, (uint32_t)(v >> 32));
#endif
}

#endif
