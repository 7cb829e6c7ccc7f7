/* SPDX-License-Identifier: MIT */
/* decode.c - binary module decoder (spec 5): sections, structure, LEB128, UTF-8 names.
 *
 * Errors here are "malformed" (WAFT_ERR_MALFORMED): the bytes are not a module. Whether a
 * well-formed module is valid is validate's job; see docs/validation.md.
 */
#include "decode/decode.h"

#include <stdio.h>

typedef struct dec_ctx {
    waft_module *m;
    base_reader r;
    base_alloc *alloc;
    waft_error *err;
    waft_result result; /* first failure */
    const char *section;
} dec_ctx;

static const char *const section_names[] = { "custom", "type",   "import",    "function", "table",
                                             "memory", "global", "export",    "start",    "element",
                                             "code",   "data",   "data count" };

/* Records the first failure; the reader's position gives the offset. */
static void fail_at(dec_ctx *c, waft_result code, size_t offset, const char *why)
{
    if (c->result != WAFT_OK)
        return;
    c->result = code;
    base_error_set(c->err, code, (int64_t)offset, -1, "%s section: %s", c->section, why);
}

static void fail(dec_ctx *c, const char *why)
{
    fail_at(c, WAFT_ERR_MALFORMED, base_reader_offset(&c->r), why);
    base_reader_fail(&c->r, why);
}

static bool ok(dec_ctx *c)
{
    if (c->r.failed && c->result == WAFT_OK) {
        fail_at(c, WAFT_ERR_MALFORMED, c->r.fail_at, c->r.why);
    }
    return c->result == WAFT_OK;
}

static void *alloc_array(dec_ctx *c, uint32_t n, size_t elem)
{
    if (n == 0)
        return NULL;
    void *p = base_calloc(c->alloc, n, elem);
    if (!p) {
        fail_at(c, WAFT_ERR_NOMEM, base_reader_offset(&c->r), "out of memory");
        base_reader_fail(&c->r, "out of memory");
    }
    return p;
}

/* A vector length, checked against the bytes left (each element needs >= min_size bytes) so
 * that a hostile count cannot make us allocate much more than the module's size. */
static uint32_t read_count(dec_ctx *c, size_t min_size)
{
    uint32_t n = base_read_u32(&c->r);
    if (!ok(c))
        return 0;
    if (min_size && (uint64_t)n * min_size > base_reader_left(&c->r)) {
        fail(c, n > base_reader_left(&c->r) ? "length out of bounds" : "unexpected end");
        return 0;
    }
    return n;
}

static const char *read_name(dec_ctx *c, uint32_t *out_len)
{
    uint32_t n = base_read_u32(&c->r);
    const uint8_t *p = base_read_bytes(&c->r, n);
    if (!ok(c)) {
        *out_len = 0;
        return "";
    }
    if (!base_utf8_valid(p, n)) {
        fail(c, "malformed UTF-8 encoding");
        *out_len = 0;
        return "";
    }
    *out_len = n;
    return (const char *)p;
}

static uint8_t read_valtype(dec_ctx *c)
{
    uint8_t t = base_read_u8(&c->r);
    if (ok(c) && !dec_is_valtype(t)) {
        c->r.p--;
        fail(c, "malformed value type");
    }
    return t;
}

static uint8_t read_reftype(dec_ctx *c)
{
    uint8_t t = base_read_u8(&c->r);
    if (ok(c) && !dec_is_reftype(t)) {
        c->r.p--;
        fail(c, "malformed reference type");
    }
    return t;
}

static void read_limits(dec_ctx *c, dec_limits *l)
{
    uint8_t flag = base_read_u8(&c->r);
    if (!ok(c))
        return;
    if (flag > 1) {
        c->r.p--;
        fail(c, flag == 2 || flag == 3 ? "shared memories need the threads feature"
                                       : "integer too large");
        return;
    }
    l->min = base_read_u32(&c->r);
    l->has_max = flag == 1;
    l->max = l->has_max ? base_read_u32(&c->r) : UINT32_MAX;
}

static void read_table(dec_ctx *c, dec_table *t)
{
    t->elem_type = read_reftype(c);
    read_limits(c, &t->limits);
}

static void read_globaltype(dec_ctx *c, dec_global *g)
{
    g->type = read_valtype(c);
    uint8_t mut = base_read_u8(&c->r);
    if (ok(c) && mut > 1) {
        c->r.p--;
        fail(c, "malformed mutability");
    }
    g->mutable_ = mut == 1;
}

/* Skips a constant expression up to and including its `end` and records its range. Only
 * the opcodes allowed in constant expressions are understood; anything else is left to the
 * validator, which re-reads the range (so we stop at the first unknown opcode's `end`). */
static void read_const_expr(dec_ctx *c, uint32_t *off, uint32_t *len)
{
    const uint8_t *start = c->r.p;
    for (;;) {
        uint8_t op = base_read_u8(&c->r);
        if (!ok(c))
            return;
        switch (op) {
        case 0x0B: /* end */
            *off = (uint32_t)(start - c->r.base);
            *len = (uint32_t)(c->r.p - start);
            return;
        case 0x41:
            base_read_s32(&c->r);
            break;
        case 0x42:
            base_read_s64(&c->r);
            break;
        case 0x43:
            base_read_bytes(&c->r, 4);
            break;
        case 0x44:
            base_read_bytes(&c->r, 8);
            break;
        case 0x23: /* global.get */
        case 0xD2: /* ref.func */
            base_read_u32(&c->r);
            break;
        case 0xD0: /* ref.null t */
            base_read_u8(&c->r);
            break;
        case 0x6A:
        case 0x6B:
        case 0x6C: /* i32 add/sub/mul (extended-const) */
        case 0x7C:
        case 0x7D:
        case 0x7E:
            break;
        default:
            /* Not a constant instruction: the validator reports it. Skip to the next end so
             * the section structure stays decodable; a stray 0x0B inside an immediate only
             * makes the range shorter, which the validator then rejects. */
            break;
        }
    }
}

/* ==== Sections ==== */

static void sec_type(dec_ctx *c)
{
    waft_module *m = c->m;
    m->ntypes = read_count(c, 3);
    m->types = alloc_array(c, m->ntypes, sizeof *m->types);
    for (uint32_t i = 0; i < m->ntypes && ok(c); i++) {
        uint8_t form = base_read_u8(&c->r);
        if (ok(c) && form != 0x60) {
            c->r.p--;
            fail(c, "malformed function type (expected 0x60)");
            return;
        }
        uint32_t np = read_count(c, 1);
        const uint8_t *pp = c->r.p;
        for (uint32_t k = 0; k < np && ok(c); k++)
            read_valtype(c);
        uint32_t nr = read_count(c, 1);
        const uint8_t *rp = c->r.p;
        for (uint32_t k = 0; k < nr && ok(c); k++)
            read_valtype(c);
        if (!ok(c))
            return;
        if (np > DEC_MAX_PARAMS || nr > DEC_MAX_PARAMS) {
            fail_at(c, WAFT_ERR_LIMIT, base_reader_offset(&c->r), "too many parameters or results");
            return;
        }
        dec_functype *t = &m->types[i];
        t->nparams = np;
        t->nresults = nr;
        t->types = alloc_array(c, np + nr ? np + nr : 1, 1);
        if (!ok(c))
            return;
        if (np)
            memcpy(t->types, pp, np);
        if (nr)
            memcpy(t->types + np, rp, nr);
        t->api_types = alloc_array(c, np + nr ? np + nr : 1, sizeof *t->api_types);
        if (!ok(c))
            return;
        for (uint32_t k = 0; k < np + nr; k++)
            t->api_types[k] = (waft_valtype)t->types[k];
    }
}

static void sec_import(dec_ctx *c)
{
    waft_module *m = c->m;
    m->nimports = read_count(c, 4);
    m->imports = alloc_array(c, m->nimports, sizeof *m->imports);
    /* first pass sizes the per-kind arrays: store the descriptors, count kinds */
    for (uint32_t i = 0; i < m->nimports && ok(c); i++) {
        dec_import *im = &m->imports[i];
        im->off = (uint32_t)base_reader_offset(&c->r);
        im->module = read_name(c, &im->module_len);
        im->name = read_name(c, &im->name_len);
        uint8_t kind = base_read_u8(&c->r);
        if (!ok(c))
            return;
        switch (kind) {
        case 0:
            im->kind = WAFT_EXTERN_FUNC;
            im->index = base_read_u32(&c->r); /* type index for now */
            m->nfunc_imports++;
            break;
        case 1: {
            dec_table t;
            read_table(c, &t);
            im->kind = WAFT_EXTERN_TABLE;
            if (!ok(c) || !base_grow(c->alloc, (void **)&m->tables, &(uint32_t){ m->ntables },
                                     m->ntables + 1, sizeof t)) {
                if (ok(c))
                    fail(c, "out of memory");
                return;
            }
            im->index = m->ntables;
            m->tables[m->ntables++] = t;
            m->ntable_imports++;
            break;
        }
        case 2: {
            dec_limits l;
            read_limits(c, &l);
            im->kind = WAFT_EXTERN_MEMORY;
            if (!ok(c) || !base_grow(c->alloc, (void **)&m->memories, &(uint32_t){ m->nmemories },
                                     m->nmemories + 1, sizeof l)) {
                if (ok(c))
                    fail(c, "out of memory");
                return;
            }
            im->index = m->nmemories;
            m->memories[m->nmemories++] = l;
            m->nmemory_imports++;
            break;
        }
        case 3: {
            dec_global g = { 0 };
            read_globaltype(c, &g);
            im->kind = WAFT_EXTERN_GLOBAL;
            if (!ok(c) || !base_grow(c->alloc, (void **)&m->globals, &(uint32_t){ m->nglobals },
                                     m->nglobals + 1, sizeof g)) {
                if (ok(c))
                    fail(c, "out of memory");
                return;
            }
            im->index = m->nglobals;
            m->globals[m->nglobals++] = g;
            m->nglobal_imports++;
            break;
        }
        default:
            c->r.p--;
            fail(c, "malformed import kind");
            return;
        }
    }
}

/* Appends n entries to an array that already holds `have` (the imports). */
static void *extend(dec_ctx *c, void *p, uint32_t have, uint32_t n, size_t elem)
{
    if ((uint64_t)have + n > DEC_MAX_FUNCS * 10ull) {
        fail_at(c, WAFT_ERR_LIMIT, base_reader_offset(&c->r), "too many entries");
        return p;
    }
    if (n == 0)
        return p;
    void *np = base_realloc(c->alloc, p, (size_t)(have + n) * elem);
    if (!np) {
        fail_at(c, WAFT_ERR_NOMEM, base_reader_offset(&c->r), "out of memory");
        base_reader_fail(&c->r, "out of memory");
        return p;
    }
    memset((uint8_t *)np + (size_t)have * elem, 0, (size_t)n * elem);
    return np;
}

static void sec_function(dec_ctx *c)
{
    waft_module *m = c->m;
    uint32_t n = read_count(c, 1);
    if (!ok(c))
        return;
    if (n > DEC_MAX_FUNCS) {
        fail_at(c, WAFT_ERR_LIMIT, base_reader_offset(&c->r), "too many functions");
        return;
    }
    m->func_types = extend(c, m->func_types, m->nfunc_imports, n, sizeof *m->func_types);
    m->func_type_off = alloc_array(c, n ? n : 1, sizeof *m->func_type_off);
    for (uint32_t i = 0; i < n && ok(c); i++) {
        m->func_type_off[i] = (uint32_t)base_reader_offset(&c->r);
        m->func_types[m->nfunc_imports + i] = base_read_u32(&c->r);
    }
    if (ok(c))
        m->nfuncs = m->nfunc_imports + n;
}

static void sec_table(dec_ctx *c)
{
    waft_module *m = c->m;
    uint32_t n = read_count(c, 3);
    m->tables = extend(c, m->tables, m->ntables, n, sizeof *m->tables);
    for (uint32_t i = 0; i < n && ok(c); i++)
        read_table(c, &m->tables[m->ntables + i]);
    if (ok(c))
        m->ntables += n;
}

static void sec_memory(dec_ctx *c)
{
    waft_module *m = c->m;
    uint32_t n = read_count(c, 2);
    m->memories = extend(c, m->memories, m->nmemories, n, sizeof *m->memories);
    for (uint32_t i = 0; i < n && ok(c); i++)
        read_limits(c, &m->memories[m->nmemories + i]);
    if (ok(c))
        m->nmemories += n;
}

static void sec_global(dec_ctx *c)
{
    waft_module *m = c->m;
    uint32_t n = read_count(c, 3);
    m->globals = extend(c, m->globals, m->nglobals, n, sizeof *m->globals);
    for (uint32_t i = 0; i < n && ok(c); i++) {
        dec_global *g = &m->globals[m->nglobals + i];
        read_globaltype(c, g);
        read_const_expr(c, &g->init_off, &g->init_len);
    }
    if (ok(c))
        m->nglobals += n;
}

static void sec_export(dec_ctx *c)
{
    waft_module *m = c->m;
    m->nexports = read_count(c, 3);
    m->exports = alloc_array(c, m->nexports, sizeof *m->exports);
    for (uint32_t i = 0; i < m->nexports && ok(c); i++) {
        dec_export *e = &m->exports[i];
        e->off = (uint32_t)base_reader_offset(&c->r);
        e->name = read_name(c, &e->name_len);
        uint8_t kind = base_read_u8(&c->r);
        if (ok(c) && kind > 3) {
            c->r.p--;
            fail(c, "malformed export kind");
            return;
        }
        e->kind = kind;
        e->index = base_read_u32(&c->r);
    }
}

static void sec_start(dec_ctx *c)
{
    c->m->has_start = true;
    c->m->start = base_read_u32(&c->r);
}

static void sec_element(dec_ctx *c)
{
    waft_module *m = c->m;
    m->nelems = read_count(c, 2);
    m->elems = alloc_array(c, m->nelems, sizeof *m->elems);
    for (uint32_t i = 0; i < m->nelems && ok(c); i++) {
        dec_elem *e = &m->elems[i];
        uint32_t flags = base_read_u32(&c->r);
        if (!ok(c))
            return;
        if (flags > 7) {
            fail(c, "malformed elements segment kind");
            return;
        }
        /* bit 0: passive or declarative; bit 1: explicit table index (active) or
         * declarative (passive); bit 2: expressions instead of function indices */
        if (flags & 1)
            e->mode = (flags & 2) ? DEC_SEG_DECLARATIVE : DEC_SEG_PASSIVE;
        else
            e->mode = DEC_SEG_ACTIVE;
        e->exprs = (flags & 4) != 0;
        e->type = WAFT_FUNCREF;
        if (e->mode == DEC_SEG_ACTIVE) {
            e->table = (flags & 2) ? base_read_u32(&c->r) : 0;
            read_const_expr(c, &e->offset_off, &e->offset_len);
        }
        if (flags & 3) {
            /* elemkind (0x00 = funcref) or reftype */
            if (e->exprs) {
                e->type = read_reftype(c);
            } else {
                uint8_t kind = base_read_u8(&c->r);
                if (ok(c) && kind != 0) {
                    c->r.p--;
                    fail(c, "malformed element kind");
                    return;
                }
            }
        }
        e->count = read_count(c, 1);
        if (!ok(c))
            return;
        if (e->exprs) {
            e->expr_off = alloc_array(c, e->count ? e->count * 2 : 1, sizeof(uint32_t));
            for (uint32_t k = 0; k < e->count && ok(c); k++)
                read_const_expr(c, &e->expr_off[2 * k], &e->expr_off[2 * k + 1]);
        } else {
            e->funcs = alloc_array(c, e->count ? e->count : 1, sizeof(uint32_t));
            for (uint32_t k = 0; k < e->count && ok(c); k++)
                e->funcs[k] = base_read_u32(&c->r);
        }
    }
}

static void sec_code(dec_ctx *c)
{
    waft_module *m = c->m;
    uint32_t n = read_count(c, 2);
    if (!ok(c))
        return;
    if (n != m->nfuncs - m->nfunc_imports) {
        fail(c, "function and code section have inconsistent lengths");
        return;
    }
    m->codes = alloc_array(c, n, sizeof *m->codes);
    for (uint32_t i = 0; i < n && ok(c); i++) {
        dec_code *code = &m->codes[i];
        uint32_t size = base_read_u32(&c->r);
        if (!ok(c))
            return;
        if (size > base_reader_left(&c->r)) {
            fail(c, "length out of bounds");
            return;
        }
        const uint8_t *end = c->r.p + size;
        base_reader body;
        base_reader_init(&body, c->r.base, c->r.p, end);
        uint32_t ngroups = base_read_u32(&body);
        uint64_t total = 0;
        const uint8_t *groups = body.p;
        for (uint32_t g = 0; g < ngroups && !body.failed; g++) {
            total += base_read_u32(&body);
            base_read_u8(&body);
            if (total > UINT32_MAX) {
                base_reader_fail(&body, "too many locals");
                break;
            }
        }
        if (body.failed) {
            fail_at(c, WAFT_ERR_MALFORMED, body.fail_at, body.why);
            return;
        }
        if (total > DEC_MAX_LOCALS) {
            fail_at(c, WAFT_ERR_LIMIT, (size_t)(groups - c->r.base), "too many locals");
            return;
        }
        code->nlocals = (uint32_t)total;
        code->local_types = alloc_array(c, code->nlocals ? code->nlocals : 1, 1);
        if (!ok(c))
            return;
        base_reader_init(&body, c->r.base, groups, end);
        uint32_t k = 0;
        for (uint32_t g = 0; g < ngroups; g++) {
            uint32_t cnt = base_read_u32(&body);
            uint8_t t = base_read_u8(&body);
            if (!dec_is_valtype(t)) {
                fail_at(c, WAFT_ERR_MALFORMED, (size_t)(body.p - 1 - c->r.base),
                        "malformed value type");
                return;
            }
            memset(code->local_types + k, t, cnt);
            k += cnt;
        }
        code->body_off = (uint32_t)(body.p - c->r.base);
        code->body_end = (uint32_t)(end - c->r.base);
        c->r.p = end;
    }
}

static void sec_data(dec_ctx *c)
{
    waft_module *m = c->m;
    m->ndatas = read_count(c, 2);
    if (!ok(c))
        return;
    if (m->has_data_count && m->data_count != m->ndatas) {
        fail(c, "data count and data section have inconsistent lengths");
        return;
    }
    m->datas = alloc_array(c, m->ndatas, sizeof *m->datas);
    for (uint32_t i = 0; i < m->ndatas && ok(c); i++) {
        dec_data *d = &m->datas[i];
        uint32_t flags = base_read_u32(&c->r);
        if (!ok(c))
            return;
        if (flags > 2) {
            fail(c, "malformed data segment kind");
            return;
        }
        d->mode = flags == 1 ? DEC_SEG_PASSIVE : DEC_SEG_ACTIVE;
        if (flags != 1) {
            d->memory = flags == 2 ? base_read_u32(&c->r) : 0;
            read_const_expr(c, &d->offset_off, &d->offset_len);
        }
        d->data_len = base_read_u32(&c->r);
        const uint8_t *p = base_read_bytes(&c->r, d->data_len);
        if (ok(c))
            d->data_off = (uint32_t)(p - c->r.base);
    }
}

static void sec_data_count(dec_ctx *c)
{
    c->m->has_data_count = true;
    c->m->data_count = base_read_u32(&c->r);
}

/* The "name" custom section: only function names (subsection 1) are kept. A malformed name
 * section is ignored, as the spec allows for custom sections. */
static void sec_names(dec_ctx *c, const uint8_t *p, const uint8_t *end)
{
    waft_module *m = c->m;
    base_reader r;
    base_reader_init(&r, c->r.base, p, end);
    while (!r.failed && r.p < r.end) {
        uint8_t id = base_read_u8(&r);
        uint32_t size = base_read_u32(&r);
        const uint8_t *sub = base_read_bytes(&r, size);
        if (r.failed || id != 1)
            continue;
        base_reader s;
        base_reader_init(&s, r.base, sub, sub + size);
        uint32_t n = base_read_u32(&s);
        if (s.failed || n > size)
            return;
        dec_name *names = base_calloc(c->alloc, n ? n : 1, sizeof *names);
        if (!names)
            return;
        uint32_t k = 0;
        for (uint32_t i = 0; i < n && !s.failed; i++) {
            uint32_t idx = base_read_u32(&s);
            uint32_t len = base_read_u32(&s);
            const uint8_t *nm = base_read_bytes(&s, len);
            if (s.failed)
                break;
            if (k && names[k - 1].func >= idx)
                break; /* must be sorted and unique; stop at disorder */
            names[k].func = idx;
            names[k].name = (const char *)nm;
            names[k].len = len;
            k++;
        }
        base_free(c->alloc, m->names);
        m->names = names;
        m->nnames = k;
        return;
    }
}

/* Section order rank (spec 5.5.2; data count sits between element and code). */
static int section_rank(uint8_t id)
{
    static const int rank[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 10 };
    return rank[id];
}

waft_result dec_module(waft_engine *engine, base_alloc *alloc, const uint8_t *bytes, size_t len,
                       waft_module **out, waft_error *err)
{
    *out = NULL;
    if (len > UINT32_MAX) {
        base_error_set(err, WAFT_ERR_LIMIT, 0, -1, "module larger than 4 GiB");
        return WAFT_ERR_LIMIT;
    }
    waft_module *m = base_calloc(alloc, 1, sizeof *m);
    if (!m) {
        base_error_set(err, WAFT_ERR_NOMEM, -1, -1, "out of memory");
        return WAFT_ERR_NOMEM;
    }
    m->engine = engine;
    m->alloc = alloc;
    m->len = len;
    m->bytes = base_malloc(alloc, len ? len : 1);
    if (!m->bytes) {
        base_free(alloc, m);
        base_error_set(err, WAFT_ERR_NOMEM, -1, -1, "out of memory");
        return WAFT_ERR_NOMEM;
    }
    if (len)
        memcpy(m->bytes, bytes, len);

    dec_ctx c = { .m = m, .alloc = alloc, .err = err, .result = WAFT_OK, .section = "header" };
    base_reader_init(&c.r, m->bytes, m->bytes, m->bytes + len);

    const uint8_t *magic = base_read_bytes(&c.r, 4);
    if (!magic || memcmp(magic, "\0asm", 4) != 0) {
        c.r.p = c.r.base;
        fail(&c, "magic header not detected");
    } else {
        uint32_t version = base_read_fixed32(&c.r);
        if (c.r.failed || version != 1) {
            c.r.p = c.r.base + 4;
            fail(&c, "unknown binary version");
        }
    }
    int last_rank = 0;
    bool seen_function = false;
    while (ok(&c) && c.r.p < c.r.end) {
        c.section = "module";
        size_t sec_start_off = base_reader_offset(&c.r);
        uint8_t id = base_read_u8(&c.r);
        if (id > 12) {
            c.r.p--;
            fail(&c, "malformed section id");
            break;
        }
        c.section = section_names[id];
        uint32_t size = base_read_u32(&c.r);
        if (!ok(&c))
            break;
        if (size > base_reader_left(&c.r)) {
            fail(&c, "length out of bounds (section size)");
            break;
        }
        const uint8_t *end = c.r.p + size;
        if (id != 0) {
            if (section_rank(id) <= last_rank) {
                fail_at(&c, WAFT_ERR_MALFORMED, sec_start_off,
                        "unexpected content after last section (duplicate or out of order)");
                break;
            }
            last_rank = section_rank(id);
        }
        const uint8_t *outer_end = c.r.end;
        c.r.end = end;
        m->section_off[id] = (uint32_t)base_reader_offset(&c.r);
        switch (id) {
        case 0: {
            uint32_t nlen;
            const char *name = read_name(&c, &nlen);
            if (ok(&c) && nlen == 4 && memcmp(name, "name", 4) == 0)
                sec_names(&c, c.r.p, end);
            c.r.p = end;
            break;
        }
        case 1:
            sec_type(&c);
            break;
        case 2:
            sec_import(&c);
            break;
        case 3:
            sec_function(&c);
            seen_function = true;
            break;
        case 4:
            sec_table(&c);
            break;
        case 5:
            sec_memory(&c);
            break;
        case 6:
            sec_global(&c);
            break;
        case 7:
            sec_export(&c);
            break;
        case 8:
            sec_start(&c);
            break;
        case 9:
            sec_element(&c);
            break;
        case 10:
            sec_code(&c);
            break;
        case 11:
            sec_data(&c);
            break;
        case 12:
            sec_data_count(&c);
            break;
        }
        if (ok(&c) && c.r.p != end)
            fail(&c, "section size mismatch");
        c.r.end = outer_end;
        if (c.r.p > end)
            break;
        c.r.p = end;
    }
    if (ok(&c)) {
        c.section = "module";
        if (!seen_function)
            m->nfuncs = m->nfunc_imports;
        if (m->nfuncs > m->nfunc_imports && !m->codes)
            fail(&c, "function and code section have inconsistent lengths");
        else if (m->has_data_count && m->data_count != m->ndatas && !m->datas)
            fail(&c, "data count and data section have inconsistent lengths");
    }
    if (c.result != WAFT_OK) {
        dec_module_free(m);
        return c.result;
    }
    /* function imports stored their type index; fill func_types for them */
    if (m->nfuncs && !m->func_types) {
        m->func_types = base_calloc(alloc, m->nfuncs, sizeof *m->func_types);
        if (!m->func_types) {
            dec_module_free(m);
            base_error_set(err, WAFT_ERR_NOMEM, -1, -1, "out of memory");
            return WAFT_ERR_NOMEM;
        }
    }
    for (uint32_t i = 0, f = 0; i < m->nimports; i++) {
        if (m->imports[i].kind == WAFT_EXTERN_FUNC) {
            m->func_types[f] = m->imports[i].index;
            m->imports[i].index = f++;
        }
    }
    *out = m;
    return WAFT_OK;
}

const char *dec_func_name(const waft_module *m, uint32_t func, uint32_t *out_len)
{
    uint32_t lo = 0, hi = m->nnames;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (m->names[mid].func < func)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < m->nnames && m->names[lo].func == func) {
        *out_len = m->names[lo].len;
        return m->names[lo].name;
    }
    *out_len = 0;
    return NULL;
}

void dec_module_free(waft_module *m)
{
    if (!m)
        return;
    base_alloc *a = m->alloc;
    /* the counts are set before their arrays are allocated: an array may be missing */
    for (uint32_t i = 0; m->types && i < m->ntypes; i++) {
        base_free(a, m->types[i].types);
        base_free(a, m->types[i].api_types);
    }
    base_free(a, m->types);
    base_free(a, m->imports);
    base_free(a, m->func_types);
    base_free(a, m->func_type_off);
    base_free(a, m->tables);
    base_free(a, m->memories);
    base_free(a, m->globals);
    base_free(a, m->exports);
    for (uint32_t i = 0; m->elems && i < m->nelems; i++) {
        base_free(a, m->elems[i].funcs);
        base_free(a, m->elems[i].expr_off);
    }
    base_free(a, m->elems);
    base_free(a, m->datas);
    if (m->codes) {
        for (uint32_t i = 0; i < m->nfuncs - m->nfunc_imports; i++)
            base_free(a, m->codes[i].local_types);
    }
    base_free(a, m->codes);
    base_free(a, m->names);
    base_free(a, m->func_declared);
    base_free(a, m->bytes);
    base_free(a, m);
}
