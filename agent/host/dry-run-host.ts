/**
 * A Host that changes nothing: it keeps files in memory and records what the agent would do. The planner
 * fills it with a fresh machine's files, runs the real steps against it, and reads back the actions.
 */
import { createHash } from 'crypto';
import * as path from 'path';
import { COMMAND_NOT_FOUND, CommandOptions, CommandResult, Host, ServiceManager } from './host';
import { Systemctl } from './services';

export type PlannedAction =
  | { kind: 'run'; argv: string[] }
  | { kind: 'write'; path: string; mode: number; content: string }
  | { kind: 'remove'; path: string };

/** How the simulated machine answers a read-only command; undefined means "not found / not so". */
export type QueryAnswers = (argv: string[]) => Pick<CommandResult, 'code' | 'stdout'> | undefined;

interface MemoryFile {
  content: string;
  mode: number;
}

export class DryRunHost implements Host {
  readonly root = '/';
  readonly services: ServiceManager = new Systemctl(this);
  private readonly files = new Map<string, MemoryFile>();
  private actions: PlannedAction[] = [];

  constructor(initialFiles: Record<string, string>, private readonly answers: QueryAnswers) {
    for (const [file, content] of Object.entries(initialFiles)) this.files.set(path.posix.normalize(file), { content, mode: 0o644 });
  }

  /** The actions recorded since the last call. */
  takeActions(): PlannedAction[] {
    const taken = this.actions;
    this.actions = [];
    return taken;
  }

  hostPath(nodePath: string): string {
    return path.posix.normalize(nodePath);
  }

  async readFile(nodePath: string): Promise<string | undefined> {
    return this.files.get(this.hostPath(nodePath))?.content;
  }

  async writeFile(nodePath: string, content: string, mode: number): Promise<void> {
    const file = this.hostPath(nodePath);
    this.files.set(file, { content, mode });
    this.actions.push({ kind: 'write', path: file, mode, content });
  }

  async exists(nodePath: string): Promise<boolean> {
    const wanted = this.hostPath(nodePath);
    if (this.files.has(wanted)) return true;
    const prefix = wanted.endsWith('/') ? wanted : `${wanted}/`;
    for (const file of this.files.keys()) if (file.startsWith(prefix)) return true;
    return false;
  }

  async remove(nodePath: string): Promise<void> {
    const file = this.hostPath(nodePath);
    this.files.delete(file);
    this.actions.push({ kind: 'remove', path: file });
  }

  async listDir(nodePath: string): Promise<string[]> {
    const dir = this.hostPath(nodePath).replace(/\/$/, '');
    const names = new Set<string>();
    for (const file of this.files.keys()) {
      if (!file.startsWith(`${dir}/`)) continue;
      const [first] = file.slice(dir.length + 1).split('/');
      if (first) names.add(first);
    }
    return [...names].sort();
  }

  async fileMode(nodePath: string): Promise<number | undefined> {
    return this.files.get(this.hostPath(nodePath))?.mode;
  }

  async fileSha256(nodePath: string): Promise<string | undefined> {
    const file = this.files.get(this.hostPath(nodePath));
    return file === undefined ? undefined : createHash('sha256').update(file.content, 'utf8').digest('hex');
  }

  async run(argv: string[], _options?: CommandOptions): Promise<CommandResult> {
    this.actions.push({ kind: 'run', argv: [...argv] });
    const download = downloadOf(argv);
    // What a download holds is only known when the agent runs; a step that reads it back finds this note.
    if (download) this.files.set(this.hostPath(download.file), { content: `# ${download.url}, as downloaded when the agent runs\n`, mode: 0o644 });
    // A module loaded shows under /sys/module, where the steps look for it.
    if (argv[0] === 'modprobe') for (const name of argv.slice(1).filter((arg) => !arg.startsWith('-'))) this.files.set(`/sys/module/${name.replace(/-/g, '_')}/refcnt`, { content: '0\n', mode: 0o644 });
    // A command whose output a step reads (nvidia-smi's list of GPUs) answers as the simulated machine would.
    return { argv, code: 0, stdout: this.answers(argv)?.stdout ?? '', stderr: '' };
  }

  async query(argv: string[], _options?: CommandOptions): Promise<CommandResult> {
    const answer = this.answers(argv);
    if (answer) return { argv, stderr: '', ...answer };
    return { argv, code: argv[0] === undefined ? COMMAND_NOT_FOUND : 1, stdout: '', stderr: '' };
  }
}

/** `curl ... -o FILE URL`: the file a download writes, and from where. */
function downloadOf(argv: string[]): { file: string; url: string } | undefined {
  if (argv[0] !== 'curl') return undefined;
  const at = argv.indexOf('-o');
  const file = at >= 0 ? argv[at + 1] : undefined;
  const url = argv.filter((arg) => /^https?:\/\//.test(arg)).pop();
  return file !== undefined && url !== undefined ? { file, url } : undefined;
}
