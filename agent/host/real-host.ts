/** The Host that really changes the machine (or the temp root of a test). */
import { spawn } from 'child_process';
import { createHash } from 'crypto';
import { createReadStream } from 'fs';
import { access, mkdir, open, readdir, readFile, rename, rm, stat } from 'fs/promises';
import { basename, dirname, join } from 'path';
import type { Logger } from '../log';
import { COMMAND_NOT_FOUND, CommandFailed, CommandOptions, CommandResult, Host, ServiceManager, WriteOptions } from './host';
import { formatMode } from './mode';
import { underRoot } from './paths';
import { Systemctl } from './services';

const DEFAULT_TIMEOUT_MS = 5 * 60_000;
const DEFAULT_RETRY_DELAY_MS = 5_000;

export class RealHost implements Host {
  readonly services: ServiceManager = new Systemctl(this);

  readonly #log: Logger;

  constructor(readonly root: string, log: Logger) {
    this.#log = log;
  }

  hostPath(nodePath: string): string {
    return underRoot(this.root, nodePath);
  }

  async readFile(nodePath: string): Promise<string | undefined> {
    try {
      return await readFile(this.hostPath(nodePath), 'utf8');
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  async writeFile(nodePath: string, content: string, mode: number, options: WriteOptions = {}): Promise<void> {
    const target = this.hostPath(nodePath);
    const dir = dirname(target);
    await mkdir(dir, { recursive: true, mode: 0o755 });
    const temp = join(dir, `.${basename(target)}.labimg-${process.pid}-${Date.now()}.tmp`);
    // Created with the final mode from the first byte: a 0600 file must never exist world-readable,
    // not even as a temp file.
    const handle = await open(temp, 'wx', mode);
    try {
      await handle.writeFile(content, 'utf8');
      await handle.chmod(mode); // the umask may have cut bits from the mode given to open
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await rename(temp, target);
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
    await syncDirectory(dir);
    // A change to the machine is logged as info, the agent's own bookkeeping as debug.
    this.#log[options.bookkeeping ? 'debug' : 'info'](`wrote ${nodePath} (${formatMode(mode)}, ${Buffer.byteLength(content)} bytes)`);
  }

  async exists(nodePath: string): Promise<boolean> {
    try {
      await access(this.hostPath(nodePath));
      return true;
    } catch {
      return false;
    }
  }

  async remove(nodePath: string, options: WriteOptions = {}): Promise<void> {
    await rm(this.hostPath(nodePath), { force: true });
    this.#log[options.bookkeeping ? 'debug' : 'info'](`removed ${nodePath}`);
  }

  async listDir(nodePath: string): Promise<string[]> {
    try {
      return (await readdir(this.hostPath(nodePath))).sort();
    } catch (err) {
      if (isMissing(err) || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return [];
      throw err;
    }
  }

  async fileMode(nodePath: string): Promise<number | undefined> {
    try {
      return (await stat(this.hostPath(nodePath))).mode & 0o777;
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  async fileSha256(nodePath: string): Promise<string | undefined> {
    // Streamed: kubelet and kubeadm are tens of megabytes.
    const hash = createHash('sha256');
    try {
      for await (const chunk of createReadStream(this.hostPath(nodePath))) hash.update(chunk as Buffer);
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
    return hash.digest('hex');
  }

  async run(argv: string[], options: CommandOptions = {}): Promise<CommandResult> {
    const attempts = 1 + (options.retries ?? 0);
    let last: CommandFailed | undefined;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      this.#log.info(`$ ${argv.join(' ')}${attempt > 1 ? ` (attempt ${attempt}/${attempts})` : ''}`);
      const result = await execute(argv, options);
      if (result.code === 0) {
        if (result.stdout.trim()) this.#log.debug(result.stdout.trimEnd());
        return result;
      }
      last = new CommandFailed(result, result.timedOut ? `timed out after ${timeoutOf(options)} ms` : `exit status ${result.code}`);
      if (attempt < attempts) {
        this.#log.warn(last.message);
        await sleep(options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS);
      }
    }
    throw last;
  }

  async query(argv: string[], options: CommandOptions = {}): Promise<CommandResult> {
    const result = await execute(argv, options);
    this.#log.debug(`? ${argv.join(' ')} -> ${result.code}`);
    return result;
  }
}

interface Execution extends CommandResult {
  timedOut: boolean;
}

/** Runs argv without a shell; output is captured, never streamed, so it can be redacted before logging. */
function execute(argv: string[], options: CommandOptions): Promise<Execution> {
  const [file, ...args] = argv;
  if (!file) throw new Error('empty command');
  return new Promise((resolve) => {
    const child = spawn(file, args, {
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutOf(options));
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const code = err.code === 'ENOENT' ? COMMAND_NOT_FOUND : 126;
      resolve({ argv, code, stdout: '', stderr: `${file}: ${err.message}`, timedOut: false });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        argv,
        code: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
        timedOut,
      });
    });
  });
}

function timeoutOf(options: CommandOptions): number {
  return options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
}

async function syncDirectory(dir: string): Promise<void> {
  // Makes the rename itself durable across a power cut; some filesystems refuse fsync on a directory.
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    /* best effort */
  }
}

function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException).code === 'ENOENT';
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
