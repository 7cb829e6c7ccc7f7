/* SPDX-License-Identifier: MIT */
/* link.c - satisfies a guest's imports from the CLI's host modules (see cli_host).
 *
 * Invariants: imports are resolved in module order, each by the first host that provides
 * it; on any failure nothing is returned to the caller (the objects a host already made
 * stay in the store, which the caller frees with it).
 */
#include "cli.h"

#include <stdlib.h>

waft_result cli_link(waft_store *store, const waft_module *module, const cli_host *hosts,
                     size_t nhosts, waft_extern **out_imports, uint32_t *out_missing,
                     waft_error *out_err)
{
    uint32_t n = waft_module_import_count(module);
    waft_extern *imports = NULL;
    waft_result r = WAFT_OK;

    *out_imports = NULL;
    if (n == 0)
        return WAFT_OK;
    imports = calloc(n, sizeof *imports);
    if (imports == NULL)
        return WAFT_ERR_NOMEM;
    for (uint32_t i = 0; i < n; i++) {
        waft_import_desc desc;
        waft_module_import(module, i, &desc);
        r = WAFT_ERR_NOT_FOUND;
        for (size_t h = 0; h < nhosts && r == WAFT_ERR_NOT_FOUND; h++)
            r = hosts[h].resolve(hosts[h].ctx, store, module, i, &desc, &imports[i], out_err);
        if (r != WAFT_OK) {
            *out_missing = i;
            goto fail;
        }
    }
    *out_imports = imports;
    return WAFT_OK;

fail:
    free(imports);
    return r;
}
