// Measures what users wait for and what nodes download, and prints the README's tables in Markdown, headed by
// the date and the machine. `npm run bench -- --readme` also writes them into README.md's generated blocks.
//   - start-up: bare `node -e 0`, `labimg --version`, `labimg --help` and `labimg build P` for each shipped
//     profile, run in turns (one of each, RUNS times over), so a machine whose speed drifts slows all of them
//     alike; each median is given as a ratio to bare Node's, against the targets of issue 17. The CLI's code cache
//     (cli/compile-cache.ts) and its kept profile loads (builder/profiles/cache.ts) live in a folder of the bench's
//     own, filled by the first runs of each command. A profile's row builds it again into the folder of its last
//     build, as a rebuild does; two rows of centos-gpu show the other builds: one into a new, empty folder each
//     time (every file written and synced), and one also without the caches, as the first build after an install
//     or upgrade
//   - sizes: the agent bundle and each profile's user-data and Ignition against their budgets (user-data-sizes.mjs;
//     the suite checks the README's copy of this block)
//   - the agent bundle by npm package (agent-size.mjs)
//   - then the join burst (join-burst.ts, about a minute): the last of issue 17's targets, so that one run shows
//     them all; `--sizes` and `--no-burst` leave it out
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { agentSizeRows } from './agent-size.mjs';
import { machineLine } from './machine.mjs';
import { writeReadmeBlocks } from './readme-blocks.mjs';
import { agentSizes, sizesMarkdown, userDataSizes } from './user-data-sizes.mjs';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const cli = path.join(root, 'dist', 'labimg.js');
const RUNS = Number(process.env.BENCH_RUNS ?? 9);
/** Issue 17's targets, as ratios to bare Node in the same run. */
const VERSION_TARGET = 1.2;
const BUILD_TARGET = 1.5;

/** One Node process with `argv` (and `env` added to the bench's), in milliseconds. */
function timeNode(argv, env = {}) {
  const started = process.hrtime.bigint();
  const result = spawnSync(process.execPath, argv, { encoding: 'utf8', env: { ...process.env, ...env } });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0) throw new Error(`node ${argv.join(' ')} failed:\n${result.stderr}`);
  return ms;
}

const median = (samples) => [...samples].sort((a, b) => a - b)[Math.floor(samples.length / 2)];
const max = (samples) => Math.max(...samples);

function startupMarkdown() {
  const profiles = spawnSync(process.execPath, [cli, 'profiles'], { encoding: 'utf8' })
    .stdout.split('\n').filter(Boolean).map((line) => line.split(/\s+/)[0]);
  const out = mkdtempSync(path.join(tmpdir(), 'labimg-bench-'));
  const cache = mkdtempSync(path.join(tmpdir(), 'labimg-bench-cache-'));
  const commands = [
    { name: 'bare Node (`node -e 0`)', argv: ['-e', '0'] },
    { name: '`labimg --version`', argv: [cli, '--version'], target: VERSION_TARGET },
    { name: '`labimg --help`', argv: [cli, '--help'] },
    { name: '`labimg build centos-gpu` into an empty folder', argv: (run) => [cli, 'build', 'centos-gpu', '--out', path.join(out, `empty-${run}`)] },
    { name: '`labimg build centos-gpu` into an empty folder, without its caches', argv: (run) => [cli, 'build', 'centos-gpu', '--out', path.join(out, `cold-${run}`)], env: { NODE_DISABLE_COMPILE_CACHE: '1' } },
    ...profiles.map((p) => ({ name: `\`labimg build ${p}\``, argv: [cli, 'build', p, '--out', out], target: BUILD_TARGET })),
  ];
  let runs = 0;
  const run = (command) => timeNode(typeof command.argv === 'function' ? command.argv(runs++) : command.argv, { XDG_CACHE_HOME: cache, ...command.env });
  try {
    // The page cache, a first output folder and the kept loads; then the code caches, which a run that loaded its
    // profile afresh does not keep (cli/main.ts codeCacheWanted).
    for (let warmUp = 0; warmUp < 2; warmUp++) for (const command of commands) run(command);
    const samples = commands.map(() => []);
    for (let round = 0; round < RUNS; round++) commands.forEach((command, i) => samples[i].push(run(command)));
    const bare = median(samples[0]);
    const rows = commands.map((command, i) => {
      const ratio = median(samples[i]) / bare;
      const verdict = command.target === undefined ? '' : `≤ ${command.target}×${ratio <= command.target ? '' : ' (missed)'}`;
      return `| ${command.name} | ${median(samples[i]).toFixed(0)} ms | ${max(samples[i]).toFixed(0)} ms | ${ratio.toFixed(2)}× | ${verdict} |`;
    });
    return [`Measured ${machineLine()}; ${RUNS} runs of each, in turns.`, '', '| what | median | max | median / bare Node | target |', '|---|---:|---:|---:|---|', ...rows, ''].join('\n');
  } finally {
    rmSync(out, { recursive: true, force: true });
    rmSync(cache, { recursive: true, force: true });
  }
}

async function agentPartsMarkdown() {
  const rows = (await agentSizeRows(root)).map(([what, bytes, gzipped]) => `| ${what} | ${bytes.toLocaleString('en')} | ${gzipped === undefined ? '' : gzipped.toLocaleString('en')} |`);
  return ['| agent bundle, by part | minified | gzip -9 |', '|---|---:|---:|', ...rows, ''].join('\n');
}

// `--sizes` leaves the timings out: sizes do not depend on how busy the machine is, timings do.
const sizesOnly = process.argv.includes('--sizes');
const sizes = sizesMarkdown(agentSizes(root), userDataSizes(root));
const parts = await agentPartsMarkdown();
const startup = sizesOnly ? undefined : startupMarkdown();
process.stdout.write(`${startup === undefined ? '' : `${startup}\n`}${sizes}\n${parts}`);
const readme = process.argv.includes('--readme');
if (readme) {
  writeReadmeBlocks(root, sizesOnly ? { sizes } : { startup, sizes });
  process.stderr.write(`README.md: the ${sizesOnly ? 'sizes block is' : 'startup and sizes blocks are'} this run's\n`);
}
if (!sizesOnly && !process.argv.includes('--no-burst')) {
  // Its own process, as `npm run bench:join-burst` runs it: it starts a labimg serve and pins it to a core.
  process.stdout.write('\n');
  const burst = spawnSync(process.execPath, ['--import=tsx', path.join(root, 'bench', 'join-burst.ts'), ...(readme ? ['--readme'] : [])], { cwd: root, stdio: 'inherit' });
  if (burst.status !== 0) process.exitCode = 1;
}
