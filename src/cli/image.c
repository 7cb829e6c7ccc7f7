/* SPDX-License-Identifier: MIT */
/* image.c - `waft image info FILE [--json]` and `waft image check FILE [--module M]`.
 *
 * check = everything a restore would verify, without running anything: the image's
 * structure and checksums, the module (embedded or given) and its hash, then a restore into
 * a scratch store whose imports are inert stand-ins, which checks every memory, table,
 * global, segment and frame against the module. Extension records are decoded and validated
 * by their own checkers (WASI: waft_wasi_register_check), as a restore does, without opening
 * anything; a record no checker knows fails, as it fails a restore.
 */
#include "cli/cli.h"

#include <waft/waft_snapshot.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void hex(FILE *out, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fprintf(out, "%02x", p[i]);
}

/* Length of the well-formed UTF-8 sequence at p (n bytes left) for a printable character
 * (U+00A0 and up: no C1 control, no surrogate, no overlong form), or 0. */
static size_t utf8_printable(const unsigned char *p, size_t n)
{
    size_t len = p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : p[0] >= 0xc2 ? 2 : 0;
    if (len == 0 || len > n || p[0] > 0xf4)
        return 0;
    uint32_t cp = p[0] & (0x7fu >> len);
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3fu);
    }
    bool shortest = len == 2 || (len == 3 && cp >= 0x800) || (len == 4 && cp >= 0x10000);
    if (!shortest || cp < 0xa0 || (cp >= 0xd800 && cp < 0xe000) || cp > 0x10ffff)
        return 0;
    return len;
}

/* A JSON string of bytes from the image or the module (hostile): printable ASCII and
 * printable UTF-8 as they are, every other byte as \u00XX, so the output is valid JSON and
 * holds no terminal control sequence. */
static void json_str(FILE *out, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    fputc('"', out);
    for (size_t i = 0; i < n;) {
        size_t seq = p[i] >= 0x80 ? utf8_printable(p + i, n - i) : 0;
        if (seq) {
            fwrite(p + i, 1, seq, out);
            i += seq;
            continue;
        }
        if (p[i] == '"' || p[i] == '\\')
            fprintf(out, "\\%c", p[i]);
        else if (p[i] < 0x20 || p[i] >= 0x7f)
            fprintf(out, "\\u%04x", p[i]);
        else
            fputc(p[i], out);
        i++;
    }
    fputc('"', out);
}

/* Function name from the module's name section, if the module could be loaded. */
static const char *frame_name(const waft_module *module, uint32_t func, size_t *len)
{
    *len = 0;
    return module ? waft_module_func_name(module, func, len) : NULL;
}

static int info(const char *path, int json)
{
    waft_engine *engine;
    waft_image *img;
    waft_error err;
    if (waft_engine_new(NULL, &engine) != WAFT_OK)
        return CLI_EXIT_ERROR;
    waft_result r = waft_image_load(engine, path, &img, &err);
    if (r != WAFT_OK) {
        cli_report_error(path, r, &err);
        waft_engine_free(engine);
        return CLI_EXIT_ERROR;
    }
    waft_image_info in;
    waft_image_get_info(img, &in);
    size_t mlen;
    const uint8_t *mbytes = waft_image_module(img, &mlen);
    waft_module *module = NULL;
    if (mbytes)
        waft_module_new(engine, mbytes, mlen, &module, &err);
    FILE *o = stdout;
    if (json) {
        fprintf(o, "{\"version\":%u,\"size\":%llu,\"compressed\":%s,", in.version,
                (unsigned long long)in.image_size, in.compressed ? "true" : "false");
        fputs("\"module\":{\"sha256\":\"", o);
        hex(o, in.module_hash, 32);
        fprintf(o, "\",\"size\":%llu,\"embedded\":%s},", (unsigned long long)in.module_size,
                in.module_embedded ? "true" : "false");
        fprintf(o,
                "\"memories\":%u,\"memory_bytes\":%llu,\"memory_bytes_stored\":%llu,"
                "\"tables\":%u,\"globals\":%u,",
                in.nmemories, (unsigned long long)in.memory_bytes,
                (unsigned long long)in.memory_bytes_stored, in.ntables, in.nglobals);
        if (in.fuel == UINT64_MAX)
            fputs("\"fuel\":null,", o);
        else
            fprintf(o, "\"fuel\":%llu,", (unsigned long long)in.fuel);
        fprintf(o, "\"steps\":%llu,\"frames\":[", (unsigned long long)in.steps);
        for (uint32_t d = 0; d < in.nframes; d++) {
            waft_frame_state fs;
            waft_image_frame(img, d, &fs);
            size_t nl;
            const char *nm = frame_name(module, fs.func, &nl);
            fprintf(o, "%s{\"func\":%u,\"offset\":%u,\"locals\":%u,\"values\":%u", d ? "," : "",
                    fs.func, fs.code_offset, fs.nlocals, fs.nvalues);
            if (nm) {
                fputs(",\"name\":", o);
                json_str(o, nm, nl);
            }
            fputc('}', o);
        }
        fputs("],\"extensions\":[", o);
        for (uint32_t i = 0; i < in.nextensions; i++) {
            uint32_t v;
            uint64_t sz;
            const char *nm = waft_image_extension(img, i, &v, &sz);
            fprintf(o, "%s{\"name\":", i ? "," : "");
            json_str(o, nm, strlen(nm));
            fprintf(o, ",\"version\":%u,\"size\":%llu}", v, (unsigned long long)sz);
        }
        fputs("]}\n", o);
    } else {
        fprintf(o, "image      %s: format %u, %llu bytes%s\n", path, in.version,
                (unsigned long long)in.image_size, in.compressed ? ", zstd" : "");
        fputs("module     sha256 ", o);
        hex(o, in.module_hash, 32);
        fprintf(o, ", %llu bytes, %s\n", (unsigned long long)in.module_size,
                in.module_embedded ? "embedded" : "not embedded");
        fprintf(o, "memory     %u memor%s, %llu bytes, %llu stored (zero pages omitted)\n",
                in.nmemories, in.nmemories == 1 ? "y" : "ies", (unsigned long long)in.memory_bytes,
                (unsigned long long)in.memory_bytes_stored);
        fprintf(o, "tables     %u\nglobals    %u\n", in.ntables, in.nglobals);
        if (in.fuel == UINT64_MAX)
            fprintf(o, "fuel       not counting (%llu steps counted)\n",
                    (unsigned long long)in.steps);
        else
            fprintf(o, "fuel       %llu left, %llu steps counted\n", (unsigned long long)in.fuel,
                    (unsigned long long)in.steps);
        fprintf(o, "frames     %u%s\n", in.nframes, in.nframes ? " (innermost first)" : "");
        for (uint32_t d = 0; d < in.nframes; d++) {
            waft_frame_state fs;
            waft_image_frame(img, d, &fs);
            size_t nl;
            const char *nm = frame_name(module, fs.func, &nl);
            fprintf(o, "  #%u func[%u]", d, fs.func);
            if (nm) {
                fputc(' ', o);
                cli_put_name(o, nm, nl);
            }
            fprintf(o, " at offset 0x%x: %u locals, %u operand values\n", fs.code_offset,
                    fs.nlocals, fs.nvalues);
        }
        for (uint32_t i = 0; i < in.nextensions; i++) {
            uint32_t v;
            uint64_t sz;
            const char *nm = waft_image_extension(img, i, &v, &sz);
            fputs("extension  ", o);
            cli_put_name(o, nm, strlen(nm)); /* the image's bytes: escaped */
            fprintf(o, " version %u, %llu bytes\n", v, (unsigned long long)sz);
        }
    }
    waft_module_free(module);
    waft_image_free(img);
    waft_engine_free(engine);
    return CLI_EXIT_OK;
}

static waft_result inert_host(waft_call *call, const uint64_t *args, uint64_t *results, void *env)
{
    (void)args;
    (void)results;
    (void)env;
    return waft_call_trap(call, "image check: imports are not callable");
}

static int check(const char *path, const char *module_path)
{
    waft_engine *engine = NULL;
    waft_image *img = NULL;
    waft_module *module = NULL;
    waft_store *store = NULL;
    waft_extern *imports = NULL;
    waft_functype *types = NULL;
    uint8_t *mfile = NULL;
    waft_error err;
    int status = CLI_EXIT_ERROR;
    if (waft_engine_new(NULL, &engine) != WAFT_OK)
        return CLI_EXIT_ERROR;
    waft_result r = waft_image_load(engine, path, &img, &err);
    if (r != WAFT_OK) {
        cli_report_error(path, r, &err);
        goto done;
    }
    size_t mlen;
    const uint8_t *mbytes = waft_image_module(img, &mlen);
    if (module_path) {
        if (cli_read_file(module_path, &mfile, &mlen) != 0)
            goto done;
        mbytes = mfile;
    }
    if (!mbytes) {
        fprintf(stderr, "waft: %s: the image does not embed its module; give it with --module\n",
                path);
        goto done;
    }
    r = waft_module_new(engine, mbytes, mlen, &module, &err);
    if (r != WAFT_OK) {
        cli_report_error(module_path ? module_path : path, r, &err);
        goto done;
    }
    if (waft_store_new(engine, &store) != WAFT_OK)
        goto done;
    uint32_t n = waft_module_import_count(module);
    imports = calloc((size_t)n + 1, sizeof *imports);
    types = calloc((size_t)n + 1, sizeof *types);
    if (!imports || !types)
        goto done;
    for (uint32_t i = 0; i < n; i++) {
        waft_import_desc d;
        waft_module_import(module, i, &d);
        if (d.kind != WAFT_EXTERN_FUNC ||
            waft_module_import_functype(module, i, &types[i]) != WAFT_OK ||
            waft_func_new_host(store, &types[i], inert_host, NULL, &imports[i]) != WAFT_OK) {
            fprintf(stderr, "waft: %s: import %u is not a function; cannot check\n", path, i);
            goto done;
        }
    }
    waft_image_info in;
    waft_image_get_info(img, &in);
    /* extension records are read as a restore reads them, opening nothing; one that no
     * reader here knows fails below, as it fails a restore */
    r = waft_wasi_register_check(store);
    if (r != WAFT_OK) {
        cli_report_error(path, r, NULL);
        goto done;
    }
    waft_instance *inst;
    r = waft_image_restore(img, store, module, imports, n, &inst, &err);
    if (r != WAFT_OK) {
        cli_report_error(path, r, &err);
        goto done;
    }
    printf("%s: valid image: %u frame%s, %llu bytes of memory, module sha256 ", path, in.nframes,
           in.nframes == 1 ? "" : "s", (unsigned long long)in.memory_bytes);
    hex(stdout, in.module_hash, 32);
    putchar('\n');
    status = CLI_EXIT_OK;
done:
    waft_store_free(store);
    free(types);
    free(imports);
    waft_module_free(module);
    free(mfile);
    waft_image_free(img);
    waft_engine_free(engine);
    return status;
}

int cli_image_main(int argc, char **argv)
{
    /* argv[0] = "image" */
    const cli_verb *verb = cli_verb_find("image");
    cli_image_options o;
    const char *pos[2] = { NULL, NULL };
    int npos = 0, next;
    if (argc < 2) {
        cli_usage(verb, stderr);
        return CLI_EXIT_USAGE;
    }
    memset(&o, 0, sizeof o);
    int status = cli_parse(verb, argc, argv, &o, pos, &npos, &next);
    if (status >= 0)
        return status;
    const char *sub = pos[0], *file = pos[1];
    if (npos < 2 || (strcmp(sub, "info") != 0 && strcmp(sub, "check") != 0))
        return cli_usage_error("image", "expected 'info FILE' or 'check FILE'");
    if (o.json && strcmp(sub, "info") != 0)
        return cli_usage_error("image", "--json is an option of 'image info'");
    if (o.module && strcmp(sub, "check") != 0)
        return cli_usage_error("image", "--module is an option of 'image check'");
    return strcmp(sub, "info") == 0 ? info(file, o.json) : check(file, o.module);
}
