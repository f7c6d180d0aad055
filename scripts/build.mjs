// Bundles the two programs labimg ships:
//   dist/agent.js   the boot agent: ONE file, Node 16.9 and later (CentOS 7's glibc 2.17 runs no Node newer than 16;
//                   builder/versions.ts AGENT_NODE_MIN says why not older),
//                   minified, no native modules, nothing required at run time but Node's core modules
//   dist/labimg.js  the CLI, for the Node that runs the builder
// `node scripts/build.mjs agent` builds only the agent.
import { build } from 'esbuild';
import { builtinModules } from 'node:module';
import { chmod, mkdir } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const only = process.argv[2];

/** Fails the build if the agent would `require` anything that is not part of Node itself. */
const coreModulesOnly = {
  name: 'core-modules-only',
  setup(b) {
    const core = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);
    b.onResolve({ filter: /.*/ }, (args) => {
      if (args.kind !== 'require-call' && args.kind !== 'import-statement') return undefined;
      if (core.has(args.path)) return { path: args.path, external: true };
      if (args.path.endsWith('.node')) return { errors: [{ text: `native module ${args.path} cannot be bundled into the agent` }] };
      return undefined;
    });
  },
};

const targets = {
  agent: {
    entryPoints: [path.join(root, 'agent/main.ts')],
    outfile: path.join(root, 'dist/agent.js'),
    target: 'node16.9',
    minify: true,
    plugins: [coreModulesOnly],
  },
  cli: {
    entryPoints: [path.join(root, 'cli/main.ts')],
    outfile: path.join(root, 'dist/labimg.js'),
    target: 'node20',
    // Minified: V8 compiles a third of the bytes on every start; keepNames keeps stack traces readable.
    minify: true,
    keepNames: true,
    banner: { js: '#!/usr/bin/env node' },
    // etcd3 reads its .proto files from its own package directory at run time, so it cannot be inlined; it is
    // a dependency, installed beside the CLI, and loaded only when `--etcd` is given. node-forge (the endpoint's
    // PKCS #7 identity documents) is left out too: a third of the bundle that only `serve` and `pool` need, and V8 parses every byte
    // of the bundle on every start.
    external: ['etcd3', 'node-forge'],
  },
};

await mkdir(path.join(root, 'dist'), { recursive: true });
if (!only || only === 'cli') {
  // The profile schema's validators, precompiled: compiling them at run time is half of a `labimg build`.
  execFileSync(process.execPath, ['--import=tsx', path.join(root, 'scripts/generate-profile-validators.ts')], { stdio: 'inherit' });
}
for (const [name, options] of Object.entries(targets)) {
  if (only && only !== name) continue;
  await build({
    bundle: true,
    platform: 'node',
    format: 'cjs',
    legalComments: 'none',
    logLevel: 'warning',
    sourcemap: false,
    ...options,
  });
  if (name === 'cli') await chmod(options.outfile, 0o755);
}
