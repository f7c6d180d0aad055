/**
 * The pid lock against real processes: a live, unrelated process (a `sleep`) whose pid a lock names does not
 * hold it when its start time or its boot differs from what the lock recorded, or, for serve.lock of the older
 * form (the pid alone), when the lock was written before this boot. The real owner does hold it. Through
 * `labimg serve` (serve.lock) and the agent's lock.
 *
 * The start time is read here from /proc as proc_pid_stat(5) describes it (field 22, after the parenthesised
 * command name), independently of the code under test.
 */
import test, { type ExecutionContext } from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { acquireAgentLock, AgentBusy } from '../agent/lock';
import { DataDirBusy, lockDataDir } from '../endpoint/data-dir-lock';
import { tempDir } from './helpers/cli';
import { startServe } from './helpers/endpoint';

function startTimeOf(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!;
}

const BOOT_ID = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();

async function unrelatedProcess(t: ExecutionContext): Promise<ChildProcess & { pid: number }> {
  const child = spawn('sleep', ['60'], { stdio: 'ignore' });
  t.teardown(() => child.kill('SIGKILL'));
  await new Promise((resolve, reject) => child.once('spawn', resolve).once('error', reject));
  return child as ChildProcess & { pid: number };
}

/** When this boot began, from /proc/uptime (proc(5)). */
function bootedAtMs(): number {
  return Date.now() - Number.parseFloat(readFileSync('/proc/uptime', 'utf8')) * 1000;
}

/** Sets a file's times to `ms` (epoch milliseconds). */
function writtenAt(file: string, ms: number): void {
  utimesSync(file, ms / 1000, ms / 1000);
}

test('a live unrelated pid in a lock does not hold it when its start time or boot differs; the real owner does', async (t) => {
  const sleeper = await unrelatedProcess(t);
  const dir = tempDir('labimg-pid-lock-');
  const lock = path.join(dir, 'serve.lock');
  const start = startTimeOf(sleeper.pid);

  // The recorded start time is another process's: stale, taken over, and rewritten with ours.
  writeFileSync(lock, `${sleeper.pid} ${Number(start) - 100} ${BOOT_ID}\n`);
  const unlock = await lockDataDir(dir);
  t.deepEqual(readFileSync(lock, 'utf8').trim().split(' '), [String(process.pid), startTimeOf(process.pid), BOOT_ID]);
  await unlock();
  t.false(existsSync(lock));

  // Another boot's lock: stale.
  writeFileSync(lock, `${sleeper.pid} ${start} 00000000-0000-4000-8000-000000000000\n`);
  await (await lockDataDir(dir))();

  // What the sleeper's own lock would say: it holds it.
  writeFileSync(lock, `${sleeper.pid} ${start} ${BOOT_ID}\n`);
  const busy = await t.throwsAsync(lockDataDir(dir), { instanceOf: DataDirBusy });
  t.true(busy?.message.includes(`pid ${sleeper.pid}`), busy?.message);
});

test('a serve.lock of the older form (the pid alone) is stale when it was written before this boot', async (t) => {
  const dir = tempDir('labimg-pid-lock-');
  const lock = path.join(dir, 'serve.lock');
  const sleeper = await unrelatedProcess(t);

  // Written an hour before this boot: its pid was another boot's, whatever holds that number now.
  writeFileSync(lock, `${sleeper.pid}\n`);
  writtenAt(lock, bootedAtMs() - 3_600_000);
  await (await lockDataDir(dir))();

  // Written in this boot: the pid might be its owner (an older labimg still running), so it holds the lock.
  writeFileSync(lock, `${sleeper.pid}\n`);
  await t.throwsAsync(lockDataDir(dir), { instanceOf: DataDirBusy });
});

test('labimg serve starts on a data directory whose serve.lock names a live unrelated process, and is refused by a live owner', async (t) => {
  const sleeper = await unrelatedProcess(t);
  const data = path.join(tempDir('labimg-pid-lock-serve-'), 'data');
  mkdirSync(data, { recursive: true });
  // A lock of the older form from before a reboot: its pid is now the sleeper's.
  writeFileSync(path.join(data, 'serve.lock'), `${sleeper.pid}\n`);
  writtenAt(path.join(data, 'serve.lock'), bootedAtMs() - 86_400_000);
  const serve = await startServe({ data });
  t.teardown(() => serve.kill());
  t.is(readFileSync(path.join(data, 'serve.lock'), 'utf8').split(' ')[0], String(serve.pid));
  // A second serve on the same data is refused while the first runs.
  const second = await t.throwsAsync(startServe({ data }));
  t.regex(second?.message ?? '', /in use by another labimg serve \(pid \d+\)/);
  await serve.kill();
});

test("the agent's lock takes over a lock whose pid is a live process with another start time", async (t) => {
  const sleeper = await unrelatedProcess(t);
  const lock = path.join(tempDir('labimg-agent-lock-'), 'run', 'agent.lock');
  mkdirSync(path.dirname(lock), { recursive: true });
  writeFileSync(lock, `${sleeper.pid} 1 ${BOOT_ID}\n`);
  const unlock = await acquireAgentLock(lock);
  t.is(readFileSync(lock, 'utf8').split(' ')[0], String(process.pid));
  // A lock that records the sleeper as it is: the sleeper holds it.
  writeFileSync(lock, `${sleeper.pid} ${startTimeOf(sleeper.pid)} ${BOOT_ID}\n`);
  await t.throwsAsync(acquireAgentLock(lock), { instanceOf: AgentBusy });
  await unlock();
});
