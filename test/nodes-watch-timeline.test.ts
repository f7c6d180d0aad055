/**
 * `labimg nodes --watch`: under the table, each node's steps as a text timeline, a character per status, on a
 * scale every node shares; as the real command prints it, and laid out exactly for a fleet with round times.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import type { FleetNode, FleetStep, FleetView } from '../contract/endpoint-api';
import { formatTextTimeline } from '../endpoint/fleet-text-timeline';
import { Registry } from '../endpoint/registry';
import { FileStore } from '../endpoint/store/file-store';
import { cliPath, tempDir } from './helpers/cli';
import { reportBody } from './helpers/https-client';

const T0 = Date.parse('2026-12-06T09:00:00.000Z');
const step = (name: string, status: FleetStep['status'], endS: number, durationS: number): FleetStep => ({ step: name, phase: 'boot', status, at: new Date(T0 + endS * 1000).toISOString(), durationMs: durationS * 1000 });
const node = (name: string, steps: FleetStep[]): FleetNode => ({ node: name, pool: 'lab', role: 'worker', profile: 'ubuntu', gpu: false, enrolledAt: new Date(T0).toISOString(), phases: [], ready: false, state: 'in-progress', steps });

test('one line per node, on a shared scale: 90 cells for the 60 s of the longest boot', (t) => {
  const view: FleetView = {
    generatedAt: '2026-12-06T10:00:00.000Z',
    nodes: [node('a', [step('driver', 'done', 10, 10), step('join', 'done', 30, 20)]), node('b', [step('driver', 'skipped', 5, 5), step('join', 'failed', 60, 55)])],
  };
  // 100 columns: an 8-wide name column, a space, "|", then 90 cells of 2/3 s each.
  t.deepEqual(formatTextTimeline(view, 100), [
    `TIMELINE |boot 0–1m 00s`,
    `a        |${'='.repeat(45)}`,
    // driver's 7.5 cells round out to 8, and join, from cell 7 on, takes the one they share.
    `b        |${'-'.repeat(7)}${'X'.repeat(83)}`,
    '= done  > running  - skipped  X failed',
  ]);
});

test('labimg nodes --watch prints the table and, under it, the timeline of each node', async (t) => {
  const data = tempDir('labimg-watch-');
  t.teardown(() => rmSync(data, { recursive: true, force: true }));
  const registry = new Registry(new FileStore(data));
  await registry.createPool('lab', 'ubuntu');
  await registry.enroll({ name: 'w-1', pool: 'lab', role: 'worker', profile: 'ubuntu', gpu: false, credentialSha256: '0'.repeat(64) });
  await registry.addReport('w-1', reportBody('w-1', { phase: 'bake', step: 'install-runtime', status: 'done', durationMs: 40_000, at: new Date(T0 + 40_000).toISOString() }));
  await registry.addReport('w-1', reportBody('w-1', { phase: 'boot', step: 'kubeadm-join', status: 'failed', durationMs: 20_000, at: new Date(T0 + 7_200_000).toISOString(), error: 'join refused' }));

  const child = spawn(process.execPath, [cliPath, 'nodes', '--watch', '--interval', '1', '--data', data], { env: { PATH: process.env.PATH ?? '', COLUMNS: '80' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (chunk) => (out += chunk));
  child.stderr.on('data', (chunk) => (out += chunk));
  const frame = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no timeline within 30 s:\n${out}`)), 30_000);
    child.stdout.on('data', () => {
      if (!out.includes('X failed')) return;
      clearTimeout(timer);
      resolve(out);
    });
  });
  child.kill('SIGTERM');
  const lines = frame.split('\n');
  t.regex(lines[0] ?? '', /^NODE\s+POOL/);
  const header = lines.findIndex((l) => l.startsWith('TIMELINE'));
  t.true(header > 0, frame);
  // 80 columns: name 8, a space, then bake 35% and boot 65% of the 69 cells left after the two "|".
  t.is(lines[header], 'TIMELINE |bake 0–40.0 s           |boot 0–20.0 s');
  t.is(lines[header + 1], `w-1      |${'='.repeat(24)}|${'X'.repeat(44)}`);
  t.true(lines.slice(header, header + 3).every((l) => Array.from(l).length <= 80), 'the timeline fits the terminal');
});
