// Bundles the two programs labimg ships:
//   dist/agent.js   the boot agent: ONE file, Node 16.9 and later (CentOS 7's glibc 2.17 runs no Node newer than 16;
//                   builder/versions.ts AGENT_NODE_MIN says why not older),
//                   minified, no native modules, nothing required at run time but Node's core modules
//   dist/labimg.js  the CLI, for the Node that runs the builder: a small launcher (cli/launcher.ts) that answers
//                   --version and loads dist/labimg-cli.cjs, the command line, with a V8 code cache (cli/compile-cache.ts);
//                   for `labimg build`, dist/labimg-build.cjs: the same command line with only build's work in it
//   dist/agent.js.gz  the agent as user-data and Ignition carry it: gzip made with Zopfli, 3% smaller than gzip -9
// `node scripts/build.mjs agent` builds only the agent.
import { build } from 'esbuild';
import { gzip as zopfliGzip } from '@gfx/zopfli';
import { promisify } from 'node:util';
import { builtinModules, createRequire } from 'node:module';
import { chmod, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
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

/**
 * yargs checks its own invariants with node:assert's notStrictEqual and strictEqual (its platform shim,
 * lib/platform-shims/esm.mjs), and one check fails on every start by design: with no package.json searched for
 * (above), the default `.version()` asserts a path that is not there and catches the failure (yargs 17.7.2,
 * build/lib/yargs-factory.js, kPkgUp; read 2026-12-06). node:assert builds its AssertionError with a description
 * of both values, about 1.5 ms of every command's start here, and is loaded for these two functions alone. The CLI
 * gives yargs the same two checks, Object.is as node:assert's, throwing a plain Error.
 */
const plainAssertForYargs = {
  name: 'plain-assert-for-yargs',
  setup(b) {
    b.onResolve({ filter: /^assert$/ }, (args) =>
      /[\\/]yargs[\\/]lib[\\/]platform-shims[\\/]/.test(args.importer) ? { path: 'assert', namespace: 'labimg-assert' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'labimg-assert' }, () => ({
      contents: [
        'export function strictEqual(actual, expected, message) { if (!Object.is(actual, expected)) throw new Error(message ?? "yargs: an internal check failed"); }',
        'export function notStrictEqual(actual, expected, message) { if (Object.is(actual, expected)) throw new Error(message ?? "yargs: an internal check failed"); }',
      ].join('\n'),
      loader: 'js',
    }));
  },
};

/**
 * yargs's ES module build (which the CLI's `import` reaches) takes cliui's ES module build, whose wrap cuts a line
 * every N characters, mid-word ("every d" / "ownload"); its CommonJS build wraps at spaces with wrap-ansi (cliui
 * 8.0.1 index.mjs and build/lib/string-utils.js "Minimal replacement for ... wrap-ansi", build/index.cjs; read
 * 2026-12-06). The CLI bundles the CommonJS one, as a `require` of yargs (the tests under tsx) gets.
 */
const cliuiThatWrapsWords = {
  name: 'cliui-that-wraps-words',
  setup(b) {
    const cliuiCommonJs = createRequire(import.meta.url).resolve('cliui');
    b.onResolve({ filter: /^cliui$/ }, (args) => (args.namespace === 'labimg-cliui' ? { path: cliuiCommonJs } : { path: 'cliui', namespace: 'labimg-cliui' }));
    // Required when yargs first lays out text (help, a usage error), not as the CLI starts: cliui's own start-up
    // (wrap-ansi, string-width, ansi-styles' tables) is half a millisecond of every command that prints none.
    b.onLoad({ filter: /.*/, namespace: 'labimg-cliui' }, () => ({
      contents: 'export default function cliuiWhenUsed(options) { return require("cliui")(options); }',
      loader: 'js',
    }));
  },
};

/**
 * yargs's ES module shim hands y18n, which looks up yargs's messages in LOCALE.json files, the folder three above
 * its own file (lib/platform-shims/esm.mjs: `resolve(__dirname, '../../../locales')`, its __dirname from
 * import.meta.url; yargs 17.7.3, read 2026-12-06). A CommonJS bundle has no import.meta.url, so the shim takes
 * the working directory instead, and y18n read LOCALE.json from the folder three above wherever labimg was run:
 * a malformed one (a web project's locales/en_US.json) failed every command with a SyntaxError, a valid one
 * replaced yargs's messages. labimg speaks English, which yargs's messages are without any table, so the bundle
 * gives y18n a folder of its own that holds none (dist/no-yargs-locales; y18n takes a missing file as an empty
 * table, y18n 5.0.8 build/lib/index.js _readLocaleFile).
 */
const yargsLocalesOfItsOwn = {
  name: 'yargs-locales-of-its-own',
  setup(b) {
    const y18n = path.join(root, 'node_modules/y18n/index.mjs');
    b.onResolve({ filter: /^y18n$/ }, (args) =>
      /[\\/]yargs[\\/]lib[\\/]platform-shims[\\/]/.test(args.importer) ? { path: 'y18n', namespace: 'labimg-y18n' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'labimg-y18n' }, () => ({
      contents: [
        `import y18n from ${JSON.stringify(y18n)};`,
        "import { join } from 'node:path';",
        "export default function y18nOfLabimg(options) { return y18n({ ...options, directory: join(__dirname, 'no-yargs-locales') }); }",
      ].join('\n'),
      loader: 'js',
      resolveDir: root,
    }));
  },
};

/**
 * The command line with only `labimg build`'s work. There cli/main.ts registers build alone (LABIMG_BUILD_ALONE,
 * defined below), so no other command's syntax, nor the work it imports when it runs (cli/commands/X), is reached;
 * should a module the build shares ever import another command's work, that module becomes one that fails at
 * once. The launcher loads this bundle only for a command line whose first word is `build`, which yargs always
 * runs as that command. A build then reads and takes from its code cache a third less (README "Figures").
 */
const onlyBuildsWork = {
  name: 'only-builds-work',
  setup(b) {
    b.onResolve({ filter: /^\.\.\/commands\/[a-z-]+$/ }, (args) =>
      args.path === '../commands/build' ? undefined : { path: args.path, namespace: 'labimg-not-build' },
    );
    b.onLoad({ filter: /.*/, namespace: 'labimg-not-build' }, (args) => ({
      contents: `throw new Error(${JSON.stringify(`internal error: ${args.path.slice('../commands/'.length)} ran from the bundle of labimg build alone (dist/labimg-build.cjs)`)});`,
      loader: 'js',
    }));
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

/**
 * Each CLI bundle is written inside Node's CommonJS wrapper, as a function of (exports, require, module, __filename,
 * __dirname): the launcher compiles the file as it is (cli/compile-cache.ts BUNDLE_WRAPPER_HEAD, which names this
 * head), where wrapping the text as it loads would copy the whole bundle once more on every start. So the file is
 * no module to `require`: only the launcher runs it.
 */
const BUNDLE_WRAPPER = ['(function (exports, require, module, __filename, __dirname) { ', '\n});\n'];

const cliOptions = {
  entryPoints: [path.join(root, 'cli/main.ts')],
  outfile: path.join(root, 'dist/labimg-cli.cjs'),
  target: 'node20',
  // One CommonJS file, which the launcher compiles with a V8 code cache (cli/compile-cache.ts): Node 20 caches
  // code only for classic scripts, and a command's cached bytecode costs less than parsing only its own chunks
  // of ES modules did (README "Figures"). A command's imports of its own work still run only when it runs: esbuild
  // turns each import() into a call of that module's initialiser.
  format: 'cjs',
  // Dynamic import() of the packages left out below becomes require(): a script compiled by vm.Script has no
  // loader for import() (Node doc/api/vm.md, importModuleDynamically).
  supported: { 'dynamic-import': false },
  plugins: [noPackageJsonSearch, plainAssertForYargs, cliuiThatWrapsWords, yargsLocalesOfItsOwn],
  // Minified: V8 compiles a third of the bytes on every start; keepNames keeps stack traces readable.
  minify: !process.env.NOMIN,
  keepNames: true,
  // etcd3 reads its .proto files from its own package directory at run time, so it cannot be inlined; it is
  // a dependency, installed beside the CLI, and loaded only when `--etcd` is given. node-forge (the endpoint's
  // PKCS #7 identity documents) is left out too: only `serve` and `pool` need it.
  external: ['etcd3', 'node-forge'],
  // Written by this script, inside the wrapper above.
  write: false,
};

const targets = {
  agent: {
    entryPoints: [path.join(root, 'agent/main.ts')],
    outfile: path.join(root, 'dist/agent.js'),
    target: 'node16.9',
    minify: true,
    plugins: [coreModulesOnly],
  },
  cli: cliOptions,
  // `labimg build`'s own bundle: the CLI above without the other commands' work.
  build: {
    ...cliOptions,
    outfile: path.join(root, 'dist/labimg-build.cjs'),
    plugins: [...cliOptions.plugins, onlyBuildsWork],
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
  // The ES module chunks of earlier builds (before the CLI was one CommonJS file): dist/ holds only what it runs.
  for (const name of await readdir(path.join(root, 'dist'))) {
    if (/^labimg-.*\.mjs$/.test(name)) await rm(path.join(root, 'dist', name));
  }
  // The profile schema's validators, precompiled: compiling them at run time is half of a `labimg build`.
  execFileSync(process.execPath, ['--import=tsx', path.join(root, 'scripts/generate-profile-validators.ts')], { stdio: 'inherit' });
}
for (const [name, options] of Object.entries(targets)) {
  if (only && only !== (name === 'launcher' || name === 'build' ? 'cli' : name)) continue;
  // The launcher names each bundle's code cache by the bundle's sha256, taken here once rather than on every start;
  // the CLI knows the agent and its gzip by theirs (cli/package-files.ts readAgentBundle).
  const define =
    name === 'launcher'
      ? { LABIMG_BUNDLE_SHA256: JSON.stringify(await bundleDigests([targets.cli.outfile, targets.build.outfile])) }
      : name === 'cli' || name === 'build'
        ? { LABIMG_CARRIED_AGENT_SHA256: JSON.stringify(await carriedAgentDigests()), LABIMG_BUILD_ALONE: String(name === 'build') }
        : undefined;
  const result = await build({
    define,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    legalComments: 'none',
    logLevel: 'warning',
    sourcemap: false,
    ...options,
  });
  if (name === 'cli' || name === 'build') await writeFile(options.outfile, `${BUNDLE_WRAPPER[0]}${result.outputFiles[0].text}${BUNDLE_WRAPPER[1]}`);
  if (name === 'launcher') await chmod(options.outfile, 0o755);
  if (name === 'agent') await writeFile(`${options.outfile}.gz`, await carriedGzip(await readFile(options.outfile)));
}

/**
 * The sha256 of dist/agent.js and dist/agent.js.gz, which this script writes together: with both unchanged, the
 * CLI carries the gzip without inflating it. Null when one is missing (then the CLI inflates whatever it finds).
 */
async function carriedAgentDigests() {
  const bundle = await readFile(targets.agent.outfile).catch(() => undefined);
  const gzip = await readFile(`${targets.agent.outfile}.gz`).catch(() => undefined);
  if (!bundle || !gzip) return null;
  return { bundle: sha256Hex(bundle), gzip: sha256Hex(gzip) };
}

/** Each file's sha256, by its name. */
async function bundleDigests(files) {
  const digests = {};
  for (const file of files) digests[path.basename(file)] = sha256Hex(await readFile(file));
  return digests;
}

function sha256Hex(data) {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * The agent as every user-data and Ignition config carries it (builder/render/gzip.ts takes this file). Zopfli
 * (Google's deflate encoder that searches harder; the @gfx/zopfli build of it) writes plain gzip, which
 * cloud-init's and Ignition's decoders read like any other, about 850 B (3%) smaller than zlib's level 9: the
 * margin that keeps the largest Ignition config under 48,000 B. Made once per bundle, not per `labimg build`: 5
 * iterations take about 0.6 s here and more gain nothing measurable (15: 1 B). The header is byte-stable
 * (time 0, no file name), like gzipSync's.
 */
async function carriedGzip(bundle) {
  return Buffer.from(await promisify(zopfliGzip)(bundle, { numiterations: 5 }));
}
