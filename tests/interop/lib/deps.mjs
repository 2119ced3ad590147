// deps.mjs - checks, before anything is imported from node_modules, that the pinned npm
// packages of the interop tests (package.json / package-lock.json) are installed.
//
// Test files import their packages dynamically after this check, not with static `import`
// lines, on purpose: a static import of a missing package fails while Node links the module
// graph, with a bare ERR_MODULE_NOT_FOUND that does not say how to fix it. Checking first lets
// the test fail with the one command that fixes it (scripts/interop-deps). The test never skips
// in that case: a silently skipped interop test would look like a passing one.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const interopDir = dirname(dirname(fileURLToPath(import.meta.url)));

// Throws, naming scripts/interop-deps, when a dependency of package.json is not installed or
// Node is older than the pinned packages need.
export function checkInstalled() {
    const modules = join(interopDir, 'node_modules');
    const pkg = JSON.parse(readFileSync(join(interopDir, 'package.json'), 'utf8'));
    const missing = Object.keys(pkg.dependencies).filter(
        (name) => !existsSync(join(modules, name, 'package.json')));
    if (missing.length > 0) {
        const what = existsSync(modules) ? `missing: ${missing.join(', ')}` : 'no node_modules at all';
        throw new Error(
            `the interop test dependencies are not installed in ${modules} ` +
            `(${what}); run scripts/interop-deps ` +
            '(npm ci from tests/interop/package-lock.json; scripts/test runs it before ctest)');
    }
    const [major, minor] = process.versions.node.split('.').map(Number);
    if (major < 20 || (major === 20 && minor < 6)) {
        throw new Error(`Node.js >= 20.6 is required by the pinned packages, found ${process.version}`);
    }
}

// The installed version of package `name`, for a test's output.
export function installedVersion(name) {
    const file = join(interopDir, 'node_modules', name, 'package.json');
    return JSON.parse(readFileSync(file, 'utf8')).version;
}
