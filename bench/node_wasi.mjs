// SPDX-License-Identifier: MIT
// node_wasi.mjs - runs a WASI preview1 module under Node's built-in node:wasi, the way
// bench/run.py runs every runtime: the current directory preopened as ".", no
// environment, the exit code of the guest passed through. With WAFT_BENCH_MEMORY_FILE
// set (in node's environment, never the guest's), writes the guest's linear memory size
// in bytes at exit to that file.
//
//   usage: node bench/node_wasi.mjs MODULE.wasm [ARGS...]
import { readFile, writeFile } from 'node:fs/promises';
import process from 'node:process';
import { WASI } from 'node:wasi';

const [modulePath, ...args] = process.argv.slice(2);
const wasi = new WASI({
    version: 'preview1',
    args: [modulePath, ...args],
    env: {},
    preopens: { '.': process.cwd() },
    returnOnExit: true,
});
const module = await WebAssembly.compile(await readFile(modulePath));
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
try {
    process.exitCode = wasi.start(instance);
} finally {
    // bench/run.py's "guest memory" column: the size of linear memory at exit.
    const report = process.env.WAFT_BENCH_MEMORY_FILE;
    if (report && instance.exports.memory) {
        await writeFile(report, `${instance.exports.memory.buffer.byteLength}\n`);
    }
}
