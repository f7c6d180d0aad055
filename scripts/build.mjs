// Bundles the two programs labimg ships:
//   dist/agent.js   the boot agent: ONE file, Node 16.9 and later (CentOS 7's glibc 2.17 runs no Node newer than 16;
//                   builder/versions.ts AGENT_NODE_MIN says why not older),
//                   minified, no native modules, nothing required at run time but Node's core modules
//   dist/labimg.js  the CLI, for the Node that runs the builder: a small launcher (cli/launcher.ts) that answers
//                   --version and imports dist/labimg-cli.mjs, the command line, whose commands import their own
//                   code from dist/labimg-chunk-HASH.mjs when they run (ES modules, so the bundler can split them)
// `node scripts/build.mjs agent` builds only the agent.
import { build } from 'esbuild';
import { builtinModules } from 'node:module';
import { chmod, mkdir, readdir, rm } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const only = process.argv[2];

/**
 * yargs guesses a version as it starts (`yargs()` calls `.version()`, which reads package.json above its main file
 * with escalade/sync), and in a bundle its main file is unknown, so it reads the listing of the working directory
 * and of each one above it (yargs 17.7 lib/platform-shims/esm.mjs, build/lib/yargs-factory.js kGuessVersion,
 * kPkgUp; read 2026-12-05): 47 ms of a build run from a crowded /tmp. labimg states its version itself
 * (cli/main.ts), and kPkgUp's only other caller, pkgConf, is never used; so the search finds nothing, which yargs
 * takes as "unknown" before labimg's own version replaces it.
 */
const noPackageJsonSearch = {
  name: 'no-package-json-search',
  setup(b) {
    b.onResolve({ filter: /^escalade\/sync$/ }, () => ({ path: 'escalade-sync', namespace: 'labimg-stub' }));
    b.onLoad({ filter: /.*/, namespace: 'labimg-stub' }, () => ({ contents: 'export default function findNothing() { return undefined; }', loader: 'js' }));
  },
};

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
    entryPoints: { 'labimg-cli': path.join(root, 'cli/main.ts') },
    outdir: path.join(root, 'dist'),
    target: 'node20',
    // ES modules: esbuild splits only those ("Splitting currently only works with the "esm" format", esbuild 0.28.2;
    // https://esbuild.github.io/api/#splitting, checked 2026-12-05). Every module a command imports with import() lands in a chunk of its
    // own (shared code in shared chunks), so `labimg build` never parses the endpoint, the VM code or yargs' help
    // of other commands' work, and `labimg --help` parses none of the builder.
    format: 'esm',
    splitting: true,
    outExtension: { '.js': '.mjs' },
    chunkNames: 'labimg-[name]-[hash]',
    plugins: [noPackageJsonSearch],
    // The bundled CommonJS packages (yargs' helpers, the generated validators) call require(), and
    // cli/package-files.ts finds the agent bundle and the profiles from __dirname: ES modules have neither, so
    // every chunk defines them from its own URL (all chunks lie in dist/, so __dirname is dist/ in each).
    // __dirname and __filename go by names no module declares: yargs declares a `__dirname` of its own.
    banner: {
      js: [
        "import { createRequire as __labimgCreateRequire } from 'node:module';",
        "import { dirname as __labimgDirnameOf } from 'node:path';",
        "import { fileURLToPath as __labimgFileURLToPath } from 'node:url';",
        'const require = __labimgCreateRequire(import.meta.url);',
        'const __labimgFilename = __labimgFileURLToPath(import.meta.url);',
        'const __labimgDirname = __labimgDirnameOf(__labimgFilename);',
      ].join('\n'),
    },
    define: { __dirname: '__labimgDirname', __filename: '__labimgFilename' },
    // Minified: V8 compiles a third of the bytes on every start; keepNames keeps stack traces readable.
    minify: true,
    keepNames: true,
    // etcd3 reads its .proto files from its own package directory at run time, so it cannot be inlined; it is
    // a dependency, installed beside the CLI, and loaded only when `--etcd` is given. node-forge (the endpoint's
    // PKCS #7 identity documents) is left out too: only `serve` and `pool` need it.
    external: ['etcd3', 'node-forge'],
  },
  launcher: {
    entryPoints: [path.join(root, 'cli/launcher.ts')],
    outfile: path.join(root, 'dist/labimg.js'),
    target: 'node20',
    format: 'cjs',
    minify: true,
    banner: { js: '#!/usr/bin/env node' },
  },
};

await mkdir(path.join(root, 'dist'), { recursive: true });
if (!only || only === 'cli') {
  // Chunk names change with their content: drop the previous build's, so dist/ holds only what this one imports.
  for (const name of await readdir(path.join(root, 'dist'))) {
    if (/^labimg-.*\.mjs$/.test(name)) await rm(path.join(root, 'dist', name));
  }
  // The profile schema's validators, precompiled: compiling them at run time is half of a `labimg build`.
  execFileSync(process.execPath, ['--import=tsx', path.join(root, 'scripts/generate-profile-validators.ts')], { stdio: 'inherit' });
}
for (const [name, options] of Object.entries(targets)) {
  if (only && only !== (name === 'launcher' ? 'cli' : name)) continue;
  await build({
    bundle: true,
    platform: 'node',
    format: 'cjs',
    legalComments: 'none',
    logLevel: 'warning',
    sourcemap: false,
    ...options,
  });
  if (name === 'launcher') await chmod(options.outfile, 0o755);
}
