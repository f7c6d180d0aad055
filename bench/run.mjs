// Measures what users wait for and what nodes download; `npm run bench` prints a Markdown table for the README.
//   - `labimg build P` per profile: a whole CLI process, median and max of RUNS runs
//   - CLI start: `labimg --version`, and bare `node -e 0` in the same run, every time a ratio to it
//   - the agent bundle: minified bytes and gzip bytes (what user-data carries before base64), each npm package's
//     share of it, and the bundle without js-yaml (agent-size.mjs)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { agentSizeRows } from './agent-size.mjs';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const cli = path.join(root, 'dist', 'labimg.js');
const RUNS = Number(process.env.BENCH_RUNS ?? 9);

function timeProcess(args) {
  return timeNode([cli, ...args], `labimg ${args.join(' ')}`);
}

/** One Node process with `argv`, in milliseconds. */
function timeNode(argv, what) {
  const started = process.hrtime.bigint();
  const result = spawnSync(process.execPath, argv, { encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0) throw new Error(`${what} failed:\n${result.stderr}`);
  return ms;
}

function stats(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  return { median: sorted[Math.floor(sorted.length / 2)], max: sorted[sorted.length - 1] };
}

const profiles = spawnSync(process.execPath, [cli, 'profiles'], { encoding: 'utf8' })
  .stdout.split('\n').filter(Boolean).map((line) => line.split(/\s+/)[0]);

const out = mkdtempSync(path.join(tmpdir(), 'labimg-bench-'));
const rows = [];
// The floor under every command, measured in the same run: this machine's speed drifts by a third from day to
// day, so the targets are ratios to it.
const bareNode = stats(Array.from({ length: RUNS }, () => timeNode(['-e', '0'], 'node -e 0')));
rows.push(['bare Node (`node -e 0`)', bareNode]);
rows.push(['CLI start (`labimg --version`)', stats(Array.from({ length: RUNS }, () => timeProcess(['--version'])))]);
for (const profile of profiles) {
  timeProcess(['build', profile, '--out', out]); // warm the page cache once
  rows.push([`\`labimg build ${profile}\``, stats(Array.from({ length: RUNS }, () => timeProcess(['build', profile, '--out', out])))]);
}
rmSync(out, { recursive: true, force: true });

const agent = readFileSync(path.join(root, 'dist', 'agent.js'));
const gzip = gzipSync(agent, { level: 9 });

console.log(`Node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'}), ${RUNS} runs each\n`);
console.log('| what | median | max | median / bare Node |');
console.log('|---|---:|---:|---:|');
for (const [name, { median, max }] of rows) console.log(`| ${name} | ${median.toFixed(0)} ms | ${max.toFixed(0)} ms | ${(median / bareNode.median).toFixed(2)}× |`);
console.log(`\n| agent bundle | bytes |\n|---|---:|`);
console.log(`| dist/agent.js, minified | ${agent.length.toLocaleString('en')} |`);
console.log(`| dist/agent.js, gzip -9 | ${gzip.length.toLocaleString('en')} |`);
console.log(`| dist/agent.js, gzip+base64 in user-data | ${(Math.ceil(gzip.length / 3) * 4).toLocaleString('en')} |`);
console.log(`\n| agent bundle, by part | minified | gzip -9 |\n|---|---:|---:|`);
for (const [what, bytes, gzipped] of await agentSizeRows(root)) {
  console.log(`| ${what} | ${bytes.toLocaleString('en')} | ${gzipped === undefined ? '' : gzipped.toLocaleString('en')} |`);
}
