/**
 * A command that writes the file store holds a running endpoint's writes while it works (endpoint/write-barrier.ts):
 * a revocation is not overwritten by the summary of a report the endpoint was storing at the same moment. The first
 * test races real processes, the rest each rule of the barrier.
 */
import test from 'ava';
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { PinnedHttpsClient } from '../agent/endpoint/pinned-https';
import type { PhaseReport } from '../contract/agent-config';
import type { EnrollResponse } from '../contract/endpoint-api';
import { readOnlyStore } from '../cli/endpoint-store';
import { KEYS, type NodeRecord } from '../endpoint/records';
import { FileStore } from '../endpoint/store/file-store';
import { BARRIER_ANSWER_FILE, BARRIER_FILE, holdEndpointWrites, WriteBarrierWatch } from '../endpoint/write-barrier';
import { cliPath, repoRoot, tempDir } from './helpers/cli';
import { createPool, startServe } from './helpers/endpoint';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function report(node: string, n: number): PhaseReport {
  return { id: crypto.randomUUID(), node, profile: 'debian12', role: 'worker', phase: 'boot', step: `step-${n}`, status: 'done', at: new Date().toISOString(), gpu: false };
}

test('a node revoked while it reports back to back stays revoked: every report after the command is refused', async (t) => {
  const data = tempDir('labimg-barrier-');
  const serve = await startServe({ data });
  t.teardown(() => serve.kill());
  const token = createPool({ data }, 'lab', 'debian12');
  // Without the barrier, 7 of 20 such revocations were lost (2026-12-07); five in a row all hold with it.
  for (let trial = 1; trial <= 5; trial += 1) {
    const name = `w-${trial}`;
    const client = new PinnedHttpsClient(serve.url, serve.caFingerprint, 30_000);
    t.teardown(() => client.close());
    const enrolled = await client.request('POST', '/v1/enroll', { token, body: { node: name, role: 'worker', profile: 'debian12', gpu: false } });
    t.is(enrolled.status, 200);
    const credential = (enrolled.body as EnrollResponse).credential;

    let revokedAt: number | undefined;
    const acceptedAfter: number[] = [];
    let sent = 0;
    const reporting = (async () => {
      for (;;) {
        const started = performance.now();
        const answer = await client.request('POST', `/v1/nodes/${name}/reports`, { token: credential, body: report(name, (sent += 1)) });
        if (answer.status === 200 && revokedAt !== undefined && started > revokedAt) acceptedAfter.push(answer.status);
        if (answer.status === 401) return;
        if (revokedAt !== undefined && performance.now() - revokedAt > 2000) return;
      }
    })();
    await sleep(50 + trial * 10);
    await run(process.execPath, [cliPath, 'nodes', 'revoke', name, '--data', data], { cwd: repoRoot });
    revokedAt = performance.now();
    await reporting;

    t.deepEqual(acceptedAfter, [], `trial ${trial}: no report sent after the command returned is stored`);
    t.true(sent > 2, `trial ${trial}: the node was reporting when it was revoked (${sent} reports)`);
    const reader = new FileStore(data);
    const record = JSON.parse((await reader.get(KEYS.node(name))) ?? '{}') as NodeRecord;
    await reader.close();
    t.truthy(record.revokedAt, `trial ${trial}: the record says revoked`);
  }
});

test('while a barrier stands the endpoint holds its writes, answers with the barrier, and goes on when it is lowered', async (t) => {
  const data = tempDir('labimg-barrier-');
  const store = new FileStore(data);
  const watch = await WriteBarrierWatch.start(data, store, (error) => t.fail(error.message));
  t.teardown(() => watch.stop());

  const lower = await holdEndpointWrites(data);
  const line = readFileSync(path.join(data, BARRIER_FILE), 'utf8');
  for (let waited = 0; readFileSync(path.join(data, BARRIER_ANSWER_FILE), { encoding: 'utf8', flag: 'a+' }) !== line; waited += 10) {
    if (waited > 5000) return t.fail('the endpoint did not answer the barrier');
    await sleep(10);
  }
  let written = false;
  const put = store.put('pools/lab', '{}').then(() => (written = true));
  await sleep(300);
  t.false(written, 'a write waits while the barrier stands');
  t.is(await store.get('pools/lab'), undefined);

  await lower();
  await put;
  t.is(await store.get('pools/lab'), '{}');
  t.false(existsSync(path.join(data, BARRIER_ANSWER_FILE)), 'the answer goes with the barrier');
});

test('two commands take turns: the second raises its barrier once the first has lowered its own', async (t) => {
  const data = tempDir('labimg-barrier-');
  const lowerFirst = await holdEndpointWrites(data);
  let second: (() => Promise<void>) | undefined;
  const raising = holdEndpointWrites(data).then((lower) => (second = lower));
  await sleep(300);
  t.is(second, undefined);
  await lowerFirst();
  await raising;
  t.truthy(second);
  await second!();
  t.false(existsSync(path.join(data, BARRIER_FILE)));
});

test("a barrier left by a command that died holds nothing: the endpoint writes, and the next command takes it down", async (t) => {
  const data = tempDir('labimg-barrier-');
  // A pid above the kernel's largest (pid_max is at most 2^22, proc(5)), so no process has it.
  writeFileSync(path.join(data, BARRIER_FILE), `${2 ** 22 + 1} 12345 boot\nnonce\n`);
  const store = new FileStore(data);
  const watch = await WriteBarrierWatch.start(data, store, (error) => t.fail(error.message));
  t.teardown(() => watch.stop());
  await store.put('pools/lab', '{}');

  const lower = await holdEndpointWrites(data, { turnMs: 1000, answerMs: 1000 });
  t.regex(readFileSync(path.join(data, BARRIER_FILE), 'utf8'), new RegExp(`^${process.pid} `));
  await lower();
});

test("commands that find a dead command's barrier at the same instant still take turns, one at a time", async (t) => {
  // Before each dead barrier was removed under a claim, the first trial already had two holders at once.
  for (let trial = 0; trial < 5; trial += 1) {
    const data = tempDir('labimg-barrier-');
    writeFileSync(path.join(data, BARRIER_FILE), `${2 ** 22 + 1} 12345 boot\nnonce-${trial}\n`);
    let holding = 0;
    let most = 0;
    // Eight commands at once, as eight processes would be: each raises, holds a moment, and lowers.
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        const lower = await holdEndpointWrites(data, { turnMs: 10_000, answerMs: 1000 });
        holding += 1;
        most = Math.max(most, holding);
        await sleep(5);
        holding -= 1;
        await lower();
      }),
    );
    t.is(most, 1, `trial ${trial}: at most one command held the barrier at a time`);
    t.false(existsSync(path.join(data, BARRIER_FILE)));
  }
});

test('an endpoint that never answers (a labimg serve from before the barrier) makes the command fail, and nothing stays behind', async (t) => {
  const data = tempDir('labimg-barrier-');
  // Another process holds the directory as labimg serve does, but watches for no barrier.
  const holder = spawn(process.execPath, ['--import=tsx', '-e', `require(${JSON.stringify(path.join(repoRoot, 'endpoint', 'data-dir-lock.ts'))}).lockDataDir(${JSON.stringify(data)}).then(() => { console.log('held'); setInterval(() => {}, 1000); })`], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => holder.kill('SIGKILL'));
  await new Promise<void>((resolve) => holder.stdout!.once('data', () => resolve()));

  const error = await t.throwsAsync(holdEndpointWrites(data, { turnMs: 1000, answerMs: 500 }));
  t.regex(error!.message, new RegExp(`^the labimg serve that holds ${data} \\(pid ${holder.pid}\\) did not hold its writes for this command within 0.5 s, so nothing was written; .*upgrade it, or stop it`));
  t.false(existsSync(path.join(data, BARRIER_FILE)));
});

test('a command that only reads goes on while a barrier stands; one that writes waits for it to go', async (t) => {
  const data = tempDir('labimg-barrier-');
  createPool({ data }, 'lab', 'debian12');
  const lower = await holdEndpointWrites(data);
  const listed = await run(process.execPath, [cliPath, 'pool', 'list', '--data', data], { cwd: repoRoot });
  t.regex(listed.stdout, /^lab {2}profile debian12/);

  let created = false;
  const creating = run(process.execPath, [cliPath, 'pool', 'create', 'lab2', '--profile', 'debian12', '--data', data], { cwd: repoRoot }).then(() => (created = true));
  await sleep(1500);
  t.false(created, 'the writing command waits for the barrier');
  await lower();
  await creating;
  t.regex((await run(process.execPath, [cliPath, 'pool', 'list', '--data', data], { cwd: repoRoot })).stdout, /^lab2 {2}profile debian12/m);
});

test("a read-only command's store refuses every write, naming the key", async (t) => {
  const data = tempDir('labimg-barrier-');
  const store = readOnlyStore(new FileStore(data));
  for (const write of [() => store.put('pools/lab', '{}'), () => store.create('pools/lab', '{}'), () => store.update('pools/lab', () => '{}'), () => store.delete('pools/lab')]) {
    t.throws(write, { message: /^a command that only reads wrote "pools\/lab" to file store at / });
  }
  t.is(await new FileStore(data).get('pools/lab'), undefined);
});

test('holding writes lets a write under way finish first, and holds the next until resumed', async (t) => {
  const store = new FileStore(tempDir('labimg-barrier-'));
  const first = store.put('pools/a', '1');
  // Past the gate and in its file system calls.
  await new Promise((resolve) => setImmediate(resolve));
  await store.holdWrites();
  t.is(await store.get('pools/a'), '1', 'the write under way finished before the hold took');
  let second = false;
  const next = store.update('pools/a', (current) => `${current}2`).then(() => (second = true));
  await sleep(200);
  t.false(second);
  t.is(await store.get('pools/a'), '1');
  store.resumeWrites();
  await Promise.all([first, next]);
  t.is(await store.get('pools/a'), '12', 'the held update read what stood when it went on');
});
