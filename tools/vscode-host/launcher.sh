#!/bin/sh
# Executable for @vscode/test-electron's `vscodeExecutablePath`: runTests() spawns it directly
# (no shell on Linux) with VS Code's CLI arguments. It runs launcher.ts with the Node that runs
# the tests (first `node` in PATH; runTests passes its environment on) and tsx's CommonJS hook
# from the repo's node_modules, so it works whatever the current directory is.
set -eu
here=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
root=$(CDPATH= cd -- "$here/../.." && pwd)
exec node --require "$root/node_modules/tsx/dist/cjs/index.cjs" "$here/launcher.ts" "$@"
