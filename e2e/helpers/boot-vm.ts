/**
 * One end-to-end VM, started with `labimg boot` exactly as a user starts one: the profile, the disk, direct
 * kernel boot, and the checker (checker.ts) as a user script, which powers the VM off once the agent is done.
 * Shared by the tests (e2e/boot.e2e.ts) and the boot benchmark (bench/vm-boot.ts).
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { cliPath, tempDir } from '../../test/helpers/cli';
import { checkerScript, factsFrom, type GuestFacts } from './checker';
import type { BootImage } from './image';

export interface BootRun {
  code: number | null;
  /** What `labimg boot` printed: its progress lines, then anything on stderr. */
  stdout: string;
  facts: GuestFacts | undefined;
  serialLog: string;
  /** Wall time of the whole `labimg boot`, build to power-off. */
  seconds: number;
  /** Seconds from the VM's start to the agent's last line ("agent done"), as `labimg boot` counted them. */
  agentDoneAt: number | undefined;
}

export interface BootVmOptions {
  profileFile: string;
  image: BootImage;
  /** The VM's name: its hostname, its node name, its work folder's. */
  name: string;
  disk: string;
  /** More `labimg boot` flags: enrollment, --offline, --guest-forward. */
  flags: string[];
  checker?: string;
  /** Each progress line as it comes. */
  onLine?: (line: string) => void;
}

export function bootVm(options: BootVmOptions): Promise<BootRun> {
  const { image, name } = options;
  const work = path.join(tempDir('labimg-e2e-vm-'), name);
  const script = path.join(tempDir('labimg-e2e-script-'), 'labimg-e2e-check.sh');
  writeFileSync(script, options.checker ?? checkerScript());
  const args = [cliPath, 'boot', options.profileFile, '--name', name, '--disk', options.disk, '--kernel', image.kernel, '--initrd', image.initrd, '--append', image.append];
  args.push('--accel', process.env.LABIMG_E2E_ACCEL ?? 'auto', '--work', work, '--timeout', '40m', '--user-script', script, ...options.flags);
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk;
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) options.onLine?.(line);
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      const serialLog = path.join(work, 'serial.log');
      const done = /\[\s*(\d+)s\] agent done:/.exec(stdout);
      resolve({
        code,
        stdout: stdout + stderr,
        facts: factsFrom(serialLog),
        serialLog,
        seconds: (Date.now() - started) / 1000,
        agentDoneAt: done ? Number(done[1]) : undefined,
      });
    });
  });
}
