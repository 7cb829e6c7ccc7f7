/* SPDX-License-Identifier: MIT */
/* api.c - the public API gateway: argument checks, then calls into the subsystems.
 *
 * Every public entry point checks its arguments here (WAFT_API_CHECK) and returns
 * WAFT_ERR_INVALID_ARG rather than trusting the caller.
 */
#include "aot/aot.h"
#include "interp/interp.h"

#include <stdio.h>

#define WAFT_API_CHECK(cond)             \
    do {                                 \
        if (!(cond))                     \
            return WAFT_ERR_INVALID_ARG; \
    } while (0)

static const char *const result_texts[] = {
#define WAFT_X_TEXT(name, text) text,
    WAFT_RESULT_LIST(WAFT_X_TEXT)
#undef WAFT_X_TEXT
};

WAFT_API const char *waft_result_str(waft_result r)
{
    return (unsigned)r < WAFT_RESULT_COUNT_ ? result_texts[r] : "unknown result";
}

/* ==== Engine ==== */

WAFT_API waft_result waft_engine_new(const waft_config *config, waft_engine **out_engine)
{
    WAFT_API_CHECK(out_engine);
    *out_engine = NULL;
    waft_config c = { 0 };
    if (config)
        c = *config;
    if (!c.max_call_depth)
        c.max_call_depth = WAFT_DEFAULT_CALL_DEPTH;
    if (!c.max_stack_slots)
        c.max_stack_slots = WAFT_DEFAULT_STACK_SLOTS;
    if (c.max_stack_slots < 1024)
        c.max_stack_slots = 1024;
    base_alloc a;
    base_alloc_init(&a, c.alloc, c.alloc_ud, c.memory_limit);
    waft_engine *e = base_malloc(&a, sizeof *e);
    if (!e)
        return WAFT_ERR_NOMEM;
    e->alloc = a;
    e->alloc.used = a.used;
    e->config = c;
    *out_engine = e;
    return WAFT_OK;
}

WAFT_API void waft_engine_free(waft_engine *engine)
{
    if (!engine)
        return;
    base_alloc a = engine->alloc;
    base_free(&a, engine);
}

WAFT_API size_t waft_engine_allocated(const waft_engine *engine)
{
    return engine ? engine->alloc.used : 0;
}

/* ==== Module ==== */

WAFT_API waft_result waft_module_new(waft_engine *engine, const uint8_t *bytes, size_t len,
                                     waft_module **out_module, waft_error *out_err)
{
    WAFT_API_CHECK(engine && out_module && (bytes || len == 0));
    if (out_err)
        memset(out_err, 0, sizeof *out_err);
    waft_module *m;
    waft_result r = dec_module(engine, &engine->alloc, bytes, len, &m, out_err);
    if (r != WAFT_OK) {
        *out_module = NULL;
        return r;
    }
    r = val_module(m, out_err);
    if (r == WAFT_OK) {
        r = interp_prepare(m);
        if (r != WAFT_OK)
            base_error_set(out_err, r, -1, -1, "out of memory while preparing code");
    }
    if (r != WAFT_OK) {
        interp_release(m);
        val_module_release(m);
        dec_module_free(m);
        *out_module = NULL;
        return r;
    }
    *out_module = m;
    return WAFT_OK;
}

WAFT_API waft_result waft_module_decode_only(waft_engine *engine, const uint8_t *bytes, size_t len,
                                             waft_error *out_err)
{
    WAFT_API_CHECK(engine && (bytes || len == 0));
    waft_module *m;
    waft_result r = dec_module(engine, &engine->alloc, bytes, len, &m, out_err);
    if (r == WAFT_OK)
        dec_module_free(m);
    return r;
}

WAFT_API void waft_module_free(waft_module *module)
{
    if (!module)
        return;
    aot_release(module);
    interp_release(module);
    val_module_release(module);
    dec_module_free(module);
}

WAFT_API uint32_t waft_module_import_count(const waft_module *module)
{
    return module ? module->nimports : 0;
}

WAFT_API void waft_module_import(const waft_module *module, uint32_t i, waft_import_desc *out)
{
    if (!module || !out || i >= module->nimports)
        return;
    const dec_import *im = &module->imports[i];
    out->module = im->module;
    out->module_len = im->module_len;
    out->name = im->name;
    out->name_len = im->name_len;
    out->kind = (waft_extern_kind)im->kind;
}

static void functype_out(const dec_functype *t, waft_functype *out)
{
    out->nparams = t->nparams;
    out->nresults = t->nresults;
    out->params = t->api_types;
    out->results = t->api_types + t->nparams;
}

WAFT_API waft_result waft_module_import_functype(const waft_module *module, uint32_t i,
                                                 waft_functype *out)
{
    WAFT_API_CHECK(module && out && i < module->nimports);
    const dec_import *im = &module->imports[i];
    WAFT_API_CHECK(im->kind == WAFT_EXTERN_FUNC);
    const dec_functype *t = dec_func_type(module, im->index);
    functype_out(t, out);
    return WAFT_OK;
}

WAFT_API const char *waft_module_func_name(const waft_module *module, uint32_t func,
                                           size_t *out_len)
{
    uint32_t len = 0;
    const char *name = module ? dec_func_name(module, func, &len) : NULL;
    if (out_len)
        *out_len = len;
    return name;
}

WAFT_API uint32_t waft_module_export_count(const waft_module *module)
{
    return module ? module->nexports : 0;
}

WAFT_API void waft_module_export(const waft_module *module, uint32_t i, waft_export_desc *out)
{
    if (!module || !out || i >= module->nexports)
        return;
    const dec_export *e = &module->exports[i];
    out->name = e->name;
    out->name_len = e->name_len;
    out->kind = (waft_extern_kind)e->kind;
    out->index = e->index;
}

/* ==== Store ==== */

WAFT_API waft_result waft_store_new(waft_engine *engine, waft_store **out_store)
{
    WAFT_API_CHECK(engine && out_store);
    return store_new(engine, out_store);
}

WAFT_API void waft_store_free(waft_store *store)
{
    store_free(store);
}

WAFT_API waft_result waft_func_new_host(waft_store *store, const waft_functype *type,
                                        waft_host_fn fn, void *env, waft_extern *out_func)
{
    WAFT_API_CHECK(store && type && fn && out_func);
    WAFT_API_CHECK((type->params || !type->nparams) && (type->results || !type->nresults));
    uint32_t idx;
    waft_result r = store_add_host_func(store, type, fn, env, &idx);
    if (r == WAFT_OK) {
        out_func->kind = WAFT_EXTERN_FUNC;
        out_func->index = idx;
    }
    return r;
}

WAFT_API uint8_t *waft_call_memory(waft_call *call, uint64_t *out_size)
{
    if (!call || !call->inst || !call->inst->mem0) {
        if (out_size)
            *out_size = 0;
        return NULL;
    }
    if (out_size)
        *out_size = call->inst->mem0->size;
    return call->inst->mem0->data;
}

WAFT_API waft_store *waft_call_store(waft_call *call)
{
    return call ? call->store : NULL;
}

WAFT_API waft_result waft_call_trap(waft_call *call, const char *message)
{
    if (call)
        store_set_trap(call->store, WAFT_TRAP_HOST, message);
    return WAFT_TRAPPED;
}

WAFT_API waft_result waft_call_exit(waft_call *call, int32_t code)
{
    if (call)
        call->store->exit_code = code;
    return WAFT_EXITED;
}

WAFT_API waft_result waft_call_suspend(waft_call *call)
{
    if (call) {
        waft_store *s = call->store;
        if (STORE_FLAG_LOAD(s->pending)) {
            STORE_FLAG_STORE(s->pending, 0); /* this suspension serves the interrupt */
            s->stop = WAFT_STOP_INTERRUPT;
        } else {
            s->stop = WAFT_STOP_HOST;
        }
    }
    return WAFT_SUSPENDED;
}

WAFT_API waft_result waft_memory_new(waft_store *store, uint32_t min_pages, uint32_t max_pages,
                                     waft_extern *out_memory)
{
    WAFT_API_CHECK(store && out_memory);
    uint32_t idx;
    bool has_max = max_pages != UINT32_MAX;
    waft_result r = store_add_memory(store, min_pages, max_pages, has_max, &idx);
    if (r == WAFT_OK) {
        out_memory->kind = WAFT_EXTERN_MEMORY;
        out_memory->index = idx;
    }
    return r;
}

WAFT_API waft_result waft_table_new(waft_store *store, waft_valtype elem_type, uint32_t min,
                                    uint32_t max, waft_ref init, waft_extern *out_table)
{
    WAFT_API_CHECK(store && out_table);
    uint32_t idx;
    waft_result r =
        store_add_table(store, (uint8_t)elem_type, min, max, max != UINT32_MAX, init, &idx);
    if (r == WAFT_OK) {
        out_table->kind = WAFT_EXTERN_TABLE;
        out_table->index = idx;
    }
    return r;
}

WAFT_API waft_result waft_global_new(waft_store *store, waft_val value, int mutable_,
                                     waft_extern *out_global)
{
    WAFT_API_CHECK(store && out_global);
    uint32_t idx;
    uint64_t bits = value.type == WAFT_I32 || value.type == WAFT_F32 ? value.of.i32 : value.of.i64;
    waft_result r = store_add_global(store, (uint8_t)value.type, mutable_ != 0, bits, &idx);
    if (r == WAFT_OK) {
        out_global->kind = WAFT_EXTERN_GLOBAL;
        out_global->index = idx;
    }
    return r;
}

/* ==== Instances ==== */

WAFT_API waft_result waft_instance_new(waft_store *store, const waft_module *module,
                                       const waft_extern *imports, uint32_t nimports,
                                       waft_instance **out_instance, waft_error *out_err)
{
    WAFT_API_CHECK(store && module && out_instance && (imports || nimports == 0));
    WAFT_API_CHECK(module->engine == store->engine);
    if (out_err)
        memset(out_err, 0, sizeof *out_err);
    *out_instance = NULL;
    waft_instance *inst;
    waft_result r = store_instantiate(store, module, imports, nimports, &inst, out_err);
    if (r == WAFT_TRAPPED) {
        base_error_set(out_err, WAFT_TRAPPED, -1, -1, "instantiation trapped: %s",
                       store->trap.message);
        return r;
    }
    if (r != WAFT_OK)
        return r;
    if (module->has_start) {
        waft_extern f = { WAFT_EXTERN_FUNC, inst->func_ids[module->start] };
        r = waft_func_call(store, f, NULL, 0, NULL, 0);
        if (r == WAFT_SUSPENDED) {
            /* fuel or an interrupt: the start function stays suspended on the store, so the
             * caller can report it (fuel) or resume it to its end */
            *out_instance = inst;
            return r;
        }
        if (r != WAFT_OK) {
            base_error_set(out_err, r, -1, (int64_t)module->start, "start function: %s",
                           r == WAFT_TRAPPED ? store->trap.message : waft_result_str(r));
            return r;
        }
    }
    *out_instance = inst;
    return WAFT_OK;
}

WAFT_API waft_result waft_instance_export(const waft_instance *inst, const char *name, size_t len,
                                          waft_extern *out)
{
    WAFT_API_CHECK(inst && (name || len == 0) && out);
    const waft_module *m = inst->module;
    for (uint32_t i = 0; i < m->nexports; i++) {
        const dec_export *e = &m->exports[i];
        if (e->name_len != len || (len && memcmp(e->name, name, len) != 0))
            continue;
        out->kind = (waft_extern_kind)e->kind;
        switch (e->kind) {
        case WAFT_EXTERN_FUNC:
            out->index = inst->func_ids[e->index];
            break;
        case WAFT_EXTERN_TABLE:
            out->index = inst->table_ids[e->index];
            break;
        case WAFT_EXTERN_MEMORY:
            out->index = inst->memory_ids[e->index];
            break;
        default:
            out->index = inst->global_ids[e->index];
            break;
        }
        return WAFT_OK;
    }
    return WAFT_ERR_NOT_FOUND;
}

WAFT_API waft_result waft_instance_memory(const waft_instance *inst, waft_extern *out)
{
    WAFT_API_CHECK(inst && out);
    if (!inst->module->nmemories)
        return WAFT_ERR_NOT_FOUND;
    out->kind = WAFT_EXTERN_MEMORY;
    out->index = inst->memory_ids[0];
    return WAFT_OK;
}

/* ==== Functions ==== */

#define CHECK_FUNC(s, f) \
    WAFT_API_CHECK((s) && (f).kind == WAFT_EXTERN_FUNC && (f).index < (s)->nfuncs)

WAFT_API waft_result waft_func_type(const waft_store *store, waft_extern func, waft_functype *out)
{
    CHECK_FUNC(store, func);
    WAFT_API_CHECK(out);
    functype_out(store->funcs[func.index]->type, out);
    return WAFT_OK;
}

WAFT_API waft_ref waft_func_ref(const waft_store *store, waft_extern func)
{
    if (!store || func.kind != WAFT_EXTERN_FUNC || func.index >= store->nfuncs)
        return WAFT_REF_NULL;
    return (waft_ref)func.index + 1;
}

static uint64_t val_bits(const waft_val *v)
{
    switch (v->type) {
    case WAFT_I32:
    case WAFT_F32:
        return v->of.i32;
    default:
        return v->of.i64;
    }
}

static void val_out(waft_valtype t, uint64_t bits, waft_val *out)
{
    out->type = t;
    out->of.i64 = 0;
    if (t == WAFT_I32 || t == WAFT_F32)
        out->of.i32 = (uint32_t)bits;
    else
        out->of.i64 = bits;
}

static waft_result finish_call(waft_store *s, uint32_t func, waft_result r, waft_val *results,
                               uint32_t nresults)
{
    if (r != WAFT_OK)
        return r;
    const dec_functype *t = s->funcs[func]->type;
    for (uint32_t i = 0; i < t->nresults && i < nresults; i++)
        val_out((waft_valtype)t->types[t->nparams + i], s->stack[s->result_slot + i], &results[i]);
    return WAFT_OK;
}

WAFT_API waft_result waft_func_call(waft_store *store, waft_extern func, const waft_val *args,
                                    uint32_t nargs, waft_val *results, uint32_t nresults)
{
    CHECK_FUNC(store, func);
    const dec_functype *t = store->funcs[func.index]->type;
    WAFT_API_CHECK(nargs == t->nparams && (args || !nargs));
    WAFT_API_CHECK(nresults >= t->nresults && (results || !t->nresults));
    if (store->suspended && store->nframes == 0)
        store->suspended = false;
    if (store->suspended)
        return WAFT_ERR_STATE; /* resume or abandon the suspended call first */
    uint64_t slots[DEC_MAX_PARAMS + 1];
    slots[0] = 0;
    for (uint32_t i = 0; i < nargs; i++) {
        if ((uint8_t)args[i].type != t->types[i])
            return WAFT_ERR_INVALID_ARG;
        slots[i] = val_bits(&args[i]);
        if (t->types[i] == WAFT_FUNCREF && slots[i] > store->nfuncs)
            return WAFT_ERR_INVALID_ARG;
    }
    bool nested = store->nframes > 0;
    waft_result r = interp_call(store, func.index, slots);
    if (r == WAFT_SUSPENDED && nested) {
        /* a call made from inside a host function cannot stay suspended: the host's C frame
         * is in the way */
        interp_unwind(store, store->susp_base);
        store->suspended = false;
        return WAFT_ERR_STATE;
    }
    return finish_call(store, func.index, r, results, nresults);
}

WAFT_API waft_result waft_store_resume(waft_store *store, waft_val *results, uint32_t nresults)
{
    WAFT_API_CHECK(store);
    if (!store->suspended)
        return WAFT_ERR_STATE;
    uint32_t func = store->susp_func;
    const dec_functype *t = store->funcs[func]->type;
    WAFT_API_CHECK(nresults >= t->nresults && (results || !t->nresults));
    waft_result r = interp_resume(store);
    return finish_call(store, func, r, results, nresults);
}

WAFT_API void waft_store_abandon(waft_store *store)
{
    if (!store || !store->suspended)
        return;
    interp_unwind(store, store->susp_base);
    store->suspended = false;
    store->stop = WAFT_STOP_NONE;
}

/* ==== Globals, memories, tables ==== */

#define CHECK_KIND(s, x, k, n) WAFT_API_CHECK((s) && (x).kind == (k) && (x).index < (s)->n)

WAFT_API waft_result waft_global_get(const waft_store *store, waft_extern global, waft_val *out)
{
    CHECK_KIND(store, global, WAFT_EXTERN_GLOBAL, nglobals);
    WAFT_API_CHECK(out);
    const store_global *g = store->globals[global.index];
    val_out((waft_valtype)g->type, g->value, out);
    return WAFT_OK;
}

WAFT_API waft_result waft_global_set(waft_store *store, waft_extern global, waft_val value)
{
    CHECK_KIND(store, global, WAFT_EXTERN_GLOBAL, nglobals);
    store_global *g = store->globals[global.index];
    WAFT_API_CHECK(g->mutable_ && (uint8_t)value.type == g->type);
    g->value = val_bits(&value);
    return WAFT_OK;
}

WAFT_API uint8_t *waft_memory_data(waft_store *store, waft_extern memory, uint64_t *out_size)
{
    if (!store || memory.kind != WAFT_EXTERN_MEMORY || memory.index >= store->nmemories) {
        if (out_size)
            *out_size = 0;
        return NULL;
    }
    const store_memory *m = store->memories[memory.index];
    if (out_size)
        *out_size = m->size;
    return m->data;
}

WAFT_API waft_result waft_memory_read(waft_store *store, waft_extern memory, uint64_t offset,
                                      void *dst, size_t len)
{
    CHECK_KIND(store, memory, WAFT_EXTERN_MEMORY, nmemories);
    const store_memory *m = store->memories[memory.index];
    WAFT_API_CHECK(dst || !len);
    WAFT_API_CHECK(offset <= m->size && len <= m->size - offset);
    if (len)
        memcpy(dst, m->data + offset, len);
    return WAFT_OK;
}

WAFT_API waft_result waft_memory_write(waft_store *store, waft_extern memory, uint64_t offset,
                                       const void *src, size_t len)
{
    CHECK_KIND(store, memory, WAFT_EXTERN_MEMORY, nmemories);
    store_memory *m = store->memories[memory.index];
    WAFT_API_CHECK(src || !len);
    WAFT_API_CHECK(offset <= m->size && len <= m->size - offset);
    if (len) {
        memcpy(m->data + offset, src, len);
        if (m->marks)
            store_mark_range(m->marks, offset, len);
    }
    return WAFT_OK;
}

WAFT_API waft_result waft_memory_track(waft_store *store, waft_extern memory, int on)
{
    CHECK_KIND(store, memory, WAFT_EXTERN_MEMORY, nmemories);
    if (store->nframes != 0 && !store->suspended)
        return WAFT_ERR_STATE;
    store_memory *m = store->memories[memory.index];
    if (on)
        store_memory_track(store, m, false); /* a fresh map: all clear */
    return store_memory_track(store, m, on != 0);
}

WAFT_API uint64_t waft_memory_marks(waft_store *store, waft_extern memory, uint64_t first,
                                    uint64_t n, uint8_t *out)
{
    if (!store || memory.kind != WAFT_EXTERN_MEMORY || memory.index >= store->nmemories ||
        (n && !out))
        return 0;
    const store_memory *m = store->memories[memory.index];
    uint64_t set = 0;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t p = first + i;
        out[i] = (m->marks && p < m->nmarks) ? STORE_MARK_GET(m->marks[p]) : 0;
        set += out[i];
    }
    return set;
}

WAFT_API int waft_memory_fixed(const waft_store *store, waft_extern memory)
{
    if (!store || memory.kind != WAFT_EXTERN_MEMORY || memory.index >= store->nmemories)
        return 0;
    return store->memories[memory.index]->reserved != 0;
}

WAFT_API int waft_memory_take_mark(waft_store *store, waft_extern memory, uint64_t page)
{
    if (!store || memory.kind != WAFT_EXTERN_MEMORY || memory.index >= store->nmemories)
        return 0;
    store_memory *m = store->memories[memory.index];
    if (!m->marks || page >= m->nmarks)
        return 0;
    return STORE_MARK_TAKE(m->marks[page]) != 0;
}

WAFT_API int waft_call_memory_tracked(waft_call *call)
{
    return call && call->inst && call->inst->mem0 && call->inst->mem0->marks != NULL;
}

WAFT_API void waft_call_memory_written(waft_call *call, uint64_t offset, uint64_t len)
{
    if (!call || !call->inst || !call->inst->mem0)
        return;
    store_memory *m = call->inst->mem0;
    if (m->marks && len && offset <= m->size && len <= m->size - offset)
        store_mark_range(m->marks, offset, len);
}

WAFT_API void waft_call_memory_touch(waft_call *call, uint64_t offset, uint64_t len)
{
    if (!call || !call->inst || !call->inst->mem0)
        return;
    store_memory *m = call->inst->mem0;
    if (m->lazy && len && offset <= m->size && len <= m->size - offset)
        store_memory_touch(m, offset, len);
}

WAFT_API int waft_memory_file_backed(const waft_store *store, waft_extern memory)
{
    if (!store || memory.kind != WAFT_EXTERN_MEMORY || memory.index >= store->nmemories)
        return 0;
    return store->memories[memory.index]->file_backed;
}

WAFT_API waft_result waft_memory_grow(waft_store *store, waft_extern memory, uint32_t delta,
                                      uint32_t *out_old_pages)
{
    CHECK_KIND(store, memory, WAFT_EXTERN_MEMORY, nmemories);
    uint32_t old = store_memory_grow(store, store->memories[memory.index], delta);
    if (old == UINT32_MAX)
        return WAFT_ERR_LIMIT;
    if (out_old_pages)
        *out_old_pages = old;
    return WAFT_OK;
}

WAFT_API waft_result waft_table_size(const waft_store *store, waft_extern table, uint32_t *out_size)
{
    CHECK_KIND(store, table, WAFT_EXTERN_TABLE, ntables);
    WAFT_API_CHECK(out_size);
    *out_size = store->tables[table.index]->size;
    return WAFT_OK;
}

WAFT_API waft_result waft_table_get(const waft_store *store, waft_extern table, uint32_t i,
                                    waft_ref *out)
{
    CHECK_KIND(store, table, WAFT_EXTERN_TABLE, ntables);
    const store_table *t = store->tables[table.index];
    WAFT_API_CHECK(out && i < t->size);
    *out = t->elems[i];
    return WAFT_OK;
}

WAFT_API waft_result waft_table_set(waft_store *store, waft_extern table, uint32_t i,
                                    waft_ref value)
{
    CHECK_KIND(store, table, WAFT_EXTERN_TABLE, ntables);
    store_table *t = store->tables[table.index];
    WAFT_API_CHECK(i < t->size);
    WAFT_API_CHECK(t->elem_type != WAFT_FUNCREF || value <= store->nfuncs);
    t->elems[i] = value;
    return WAFT_OK;
}

/* ==== Traps, fuel, interrupts ==== */

WAFT_API const waft_trap *waft_store_trap(const waft_store *store)
{
    return store ? &store->trap : NULL;
}

WAFT_API int32_t waft_store_exit_code(const waft_store *store)
{
    return store ? store->exit_code : 0;
}

WAFT_API void waft_store_set_fuel(waft_store *store, uint64_t fuel)
{
    if (store)
        store->fuel = fuel;
}

WAFT_API uint64_t waft_store_fuel(const waft_store *store)
{
    return store ? store->fuel : 0;
}

WAFT_API uint64_t waft_store_steps(const waft_store *store)
{
    return store ? store->steps : 0;
}

WAFT_API void waft_store_interrupt(waft_store *store)
{
    if (store) {
        STORE_FLAG_STORE(store->pending, 1);
        store_wake(store);
    }
}

WAFT_API int waft_store_wake_fd(waft_store *store)
{
    return store ? store_wake_fd(store) : -1;
}

WAFT_API int waft_store_interrupt_pending(const waft_store *store)
{
    return store ? STORE_FLAG_LOAD(((waft_store *)store)->pending) != 0 : 0;
}

WAFT_API waft_stop_reason waft_store_stop_reason(const waft_store *store)
{
    return store ? store->stop : WAFT_STOP_NONE;
}

WAFT_API uint32_t waft_store_frame_count(const waft_store *store)
{
    if (!store || !store->suspended)
        return 0;
    return store->nframes - store->susp_base;
}

WAFT_API waft_result waft_store_frame(const waft_store *store, uint32_t depth,
                                      waft_frame_state *out)
{
    WAFT_API_CHECK(store && out && depth < waft_store_frame_count(store));
    uint32_t i = store->nframes - 1 - depth;
    const store_frame *fr = &store->frames[i];
    const store_func *f = store->funcs[fr->func];
    out->instance = f->inst;
    out->func = f->index;
    uint32_t pc = (depth == 0) ? fr->pc : fr->pc - 1;
    out->code_offset = icode_offset_of(f->code, pc);
    out->nlocals = f->code->nlocals;
    out->locals = store->stack + fr->fp;
    out->values = store->stack + fr->fp + f->code->nlocals;
    out->nvalues = fr->sp - fr->fp - f->code->nlocals;
    return WAFT_OK;
}

WAFT_API const uint8_t *waft_module_bytes(const waft_module *module, size_t *out_len)
{
    if (out_len)
        *out_len = module ? module->len : 0;
    return module ? module->bytes : NULL;
}

WAFT_API const waft_module *waft_instance_module(const waft_instance *inst)
{
    return inst ? inst->module : NULL;
}

/* ==== Types of imports, exports and store objects ==== */

static void limits_out(const dec_limits *l, waft_externtype *out)
{
    out->min = l->min;
    out->max = l->has_max ? l->max : UINT32_MAX;
}

/* The type of object `index` of `kind` in the module's index spaces. */
static void module_type_of(const waft_module *m, waft_extern_kind kind, uint32_t index,
                           waft_externtype *out)
{
    memset(out, 0, sizeof *out);
    out->kind = kind;
    switch (kind) {
    case WAFT_EXTERN_FUNC:
        functype_out(dec_func_type(m, index), &out->func);
        break;
    case WAFT_EXTERN_TABLE:
        out->type = (waft_valtype)m->tables[index].elem_type;
        limits_out(&m->tables[index].limits, out);
        break;
    case WAFT_EXTERN_MEMORY:
        limits_out(&m->memories[index], out);
        break;
    case WAFT_EXTERN_GLOBAL:
        out->type = (waft_valtype)m->globals[index].type;
        out->mutable_ = m->globals[index].mutable_;
        break;
    }
}

WAFT_API waft_result waft_module_import_type(const waft_module *module, uint32_t i,
                                             waft_externtype *out)
{
    WAFT_API_CHECK(module && out && i < module->nimports);
    const dec_import *im = &module->imports[i];
    module_type_of(module, (waft_extern_kind)im->kind, im->index, out);
    return WAFT_OK;
}

WAFT_API waft_result waft_module_export_type(const waft_module *module, uint32_t i,
                                             waft_externtype *out)
{
    WAFT_API_CHECK(module && out && i < module->nexports);
    const dec_export *e = &module->exports[i];
    module_type_of(module, (waft_extern_kind)e->kind, e->index, out);
    return WAFT_OK;
}

WAFT_API waft_result waft_extern_type(const waft_store *store, waft_extern x, waft_externtype *out)
{
    WAFT_API_CHECK(store && out);
    memset(out, 0, sizeof *out);
    out->kind = x.kind;
    switch (x.kind) {
    case WAFT_EXTERN_FUNC:
        CHECK_FUNC(store, x);
        functype_out(store->funcs[x.index]->type, &out->func);
        break;
    case WAFT_EXTERN_TABLE: {
        CHECK_KIND(store, x, WAFT_EXTERN_TABLE, ntables);
        const store_table *t = store->tables[x.index];
        out->type = (waft_valtype)t->elem_type;
        out->min = t->size;
        out->max = t->has_max ? t->max : UINT32_MAX;
        break;
    }
    case WAFT_EXTERN_MEMORY: {
        CHECK_KIND(store, x, WAFT_EXTERN_MEMORY, nmemories);
        const store_memory *m = store->memories[x.index];
        out->min = m->pages;
        out->max = m->has_max ? m->max_pages : UINT32_MAX;
        break;
    }
    case WAFT_EXTERN_GLOBAL: {
        CHECK_KIND(store, x, WAFT_EXTERN_GLOBAL, nglobals);
        const store_global *g = store->globals[x.index];
        out->type = (waft_valtype)g->type;
        out->mutable_ = g->mutable_;
        break;
    }
    default:
        return WAFT_ERR_INVALID_ARG;
    }
    return WAFT_OK;
}

WAFT_API waft_result waft_table_grow(waft_store *store, waft_extern table, uint32_t delta,
                                     waft_ref init, uint32_t *out_old_size)
{
    CHECK_KIND(store, table, WAFT_EXTERN_TABLE, ntables);
    store_table *t = store->tables[table.index];
    WAFT_API_CHECK(t->elem_type != WAFT_FUNCREF || init <= store->nfuncs);
    uint32_t old = store_table_grow(store, t, delta, init);
    if (old == UINT32_MAX)
        return WAFT_ERR_LIMIT;
    if (out_old_size)
        *out_old_size = old;
    return WAFT_OK;
}

WAFT_API waft_result waft_ref_func(const waft_store *store, waft_ref ref, waft_extern *out_func)
{
    WAFT_API_CHECK(store && out_func && ref != WAFT_REF_NULL && ref <= store->nfuncs);
    out_func->kind = WAFT_EXTERN_FUNC;
    out_func->index = (uint32_t)(ref - 1); /* waft_func_ref: index + 1 */
    return WAFT_OK;
}
