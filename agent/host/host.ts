/**
 * The Host is the one object through which the agent touches a machine: files under a root directory,
 * commands given as argv arrays, nothing else. Steps never import `fs` or `child_process`; that is what
 * lets the same step code run for real (RealHost), against a temp root in tests, and as a dry run (DryRunHost).
 */

export interface CommandResult {
  argv: string[];
  code: number;
  stdout: string;
  stderr: string;
}

export interface CommandOptions {
  /** Kill the command after this long. Default 5 minutes. */
  timeoutMs?: number;
  /** Further attempts after a failure (network hiccups while pulling packages or images). Default 0. */
  retries?: number;
  /** Pause between attempts. Default 5 s. */
  retryDelayMs?: number;
  /** Added to the agent's own environment, which commands inherit. */
  env?: Record<string, string>;
}

export interface WriteOptions {
  /** The agent's own bookkeeping (state, outbox): logged at debug level, not as a change to the machine. */
  bookkeeping?: boolean;
}

export interface Host {
  /** The directory that stands for `/` (`--root`). */
  readonly root: string;
  /** The path a command must be given for `path` (a path as seen on the node, e.g. /etc/x). */
  hostPath(path: string): string;

  readFile(path: string): Promise<string | undefined>;
  /** Atomic: a temp file beside the target, fsync, rename. Parent directories are created. */
  writeFile(path: string, content: string, mode: number, options?: WriteOptions): Promise<void>;
  exists(path: string): Promise<boolean>;
  remove(path: string, options?: WriteOptions): Promise<void>;
  /** Entry names of a directory; empty when it does not exist. */
  listDir(path: string): Promise<string[]>;
  /** Permission bits, or undefined when the file does not exist. */
  fileMode(path: string): Promise<number | undefined>;
  /** Lowercase hex sha256 of the file's bytes (binaries too), or undefined when it does not exist. */
  fileSha256(path: string): Promise<string | undefined>;

  /** A command that changes the machine. Rejects with CommandFailed unless it exits 0. */
  run(argv: string[], options?: CommandOptions): Promise<CommandResult>;
  /** A read-only command whose exit status is part of the answer: never rejects for a non-zero exit. */
  query(argv: string[], options?: CommandOptions): Promise<CommandResult>;
  /** systemd units, started, stopped and asked about through run and query. */
  readonly services: ServiceManager;
}

/** The file operations facts and checks need; both hosts provide them. */
export type HostFiles = Pick<Host, 'readFile' | 'exists' | 'listDir'>;

/** Exit status used when a command does not exist, as a shell would report it. */
export const COMMAND_NOT_FOUND = 127;

export class CommandFailed extends Error {
  constructor(readonly result: CommandResult, readonly reason: string) {
    super(`${result.argv.join(' ')}: ${reason}${tail(result)}`);
    this.name = 'CommandFailed';
  }
}

/** The last lines of a failed command's output: enough to see why, short enough for one log record. */
function tail(result: CommandResult): string {
  const text = `${result.stderr.trim()}\n${result.stdout.trim()}`.trim();
  if (!text) return '';
  const lines = text.split('\n');
  return `\n${lines.slice(-12).join('\n')}`;
}

/** The machine's services (systemd units); implemented once over systemctl, in services.ts. */
export interface ServiceState {
  enabled: boolean;
  active: boolean;
}

export interface NowOption {
  /** Also start (enable) or stop (disable) it now, not only from the next boot on. */
  now?: boolean;
}

export interface ServiceManager {
  state(unit: string): Promise<ServiceState>;
  enable(unit: string, options?: NowOption): Promise<void>;
  disable(unit: string, options?: NowOption): Promise<void>;
  /** Starts a stopped unit too. */
  restart(unit: string): Promise<void>;
  /** For a changed config file: a running unit reads it only when restarted; a stopped one reads it when started. */
  restartIfActive(unit: string): Promise<void>;
  /** Makes systemd read the unit files and drop-ins the agent wrote. */
  daemonReload(): Promise<void>;
}
