/**
 * The real validators the tests run on generated artifacts (Debian packages installed by .ci/run).
 * Each wrapper returns what the tool said, so a test can assert success AND see a failure on broken input.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface ToolResult {
  code: number;
  output: string;
}

function runTool(argv: string[], input?: string): ToolResult {
  const [command, ...args] = argv;
  const result = spawnSync(command!, args, { encoding: 'utf8', input, timeout: 60_000 });
  if (result.error) throw new Error(`${command} could not run (is it installed? .ci/run installs it): ${result.error.message}`);
  return { code: result.status ?? -1, output: `${result.stdout}${result.stderr}` };
}

/** `cloud-init schema` checks types and values of known modules, exit 1 on error. */
export function cloudInitSchema(file: string): ToolResult {
  return runTool(['cloud-init', 'schema', '--config-file', file]);
}

const CLOUD_CONFIG_SCHEMA = '/usr/lib/python3/dist-packages/cloudinit/config/schemas/schema-cloud-config-v1.json';

/**
 * Every top-level key cloud-init knows. `cloud-init schema` lets unknown keys through (a misspelt
 * `write_file:` passes), so tests check keys against the module schemas themselves.
 */
export function knownCloudConfigKeys(): Set<string> {
  const schema = JSON.parse(readFileSync(CLOUD_CONFIG_SCHEMA, 'utf8')) as {
    $defs: Record<string, { properties?: Record<string, unknown> }>;
    allOf: Array<{ $ref?: string }>;
  };
  const keys = new Set<string>();
  for (const part of schema.allOf) {
    const name = part.$ref?.replace('#/$defs/', '');
    for (const key of Object.keys((name && schema.$defs[name]?.properties) || {})) keys.add(key);
  }
  return keys;
}

export function shellcheck(file: string, shell: 'sh' | 'bash' = 'sh'): ToolResult {
  return runTool(['shellcheck', '-s', shell, file]);
}

export function systemdVerify(unitFile: string): ToolResult {
  return runTool(['systemd-analyze', 'verify', '--man=no', unitFile]);
}

const SYSTEM_UNITS = '/usr/lib/systemd/system';

/**
 * The ordering cycles systemd finds when it starts multi-user.target (boot) and reboot.target (shutdown)
 * on a root holding this machine's units (systemd's and cloud-init's, enabled as Debian's cloud-init
 * package enables them) plus `units` (file name → content), each enabled in multi-user.target. `systemd-analyze verify` on one unit file
 * cannot see a cycle: that needs the other units and the implicit orderings targets add. Cycles come back
 * as the lines systemd logs; verify exits 0 even when it finds one.
 */
export function systemdOrderingCycles(units: Record<string, string>): string[] {
  const root = mkdtempSync(path.join(tmpdir(), 'labimg-systemd-root-'));
  cpSync(SYSTEM_UNITS, path.join(root, SYSTEM_UNITS), { recursive: true, verbatimSymlinks: true });
  const etc = path.join(root, 'etc/systemd/system');
  const enable = (target: string, name: string, from: string) => {
    mkdirSync(path.join(etc, `${target}.wants`), { recursive: true });
    symlinkSync(path.join(from, name), path.join(etc, `${target}.wants`, name));
  };
  for (const name of ['cloud-init-local.service', 'cloud-init.service', 'cloud-config.service', 'cloud-final.service']) {
    enable('cloud-init.target', name, SYSTEM_UNITS);
  }
  enable('multi-user.target', 'cloud-init.target', SYSTEM_UNITS);
  for (const [name, unit] of Object.entries(units)) {
    writeFileSync(path.join(etc, name), unit);
    enable('multi-user.target', name, '/etc/systemd/system');
  }
  const result = runTool(['systemd-analyze', 'verify', '--man=no', `--root=${root}`, 'multi-user.target', 'reboot.target']);
  return result.output.split('\n').filter((line) => /ordering cycle/i.test(line));
}

/** `ignition-validate` exits 0 on an unknown key and only warns: any output at all counts as a failure. */
export function ignitionValidate(file: string): ToolResult & { passes: boolean } {
  const result = runTool(['ignition-validate', file]);
  return { ...result, passes: result.code === 0 && result.output.trim() === '' };
}

/**
 * `debconf-set-selections --checkonly`: debconf's own parser of preseed lines (debconf is part of every Debian
 * system). A line it cannot parse fails it; a line with an unknown type is only a warning ("Unknown type …,
 * skipping line"), and d-i would skip that line too, so a warning counts as a failure.
 */
export function debconfCheck(file: string): ToolResult & { passes: boolean } {
  const result = runTool(['debconf-set-selections', '--checkonly', file]);
  return { ...result, passes: result.code === 0 && result.output.trim() === '' };
}

/** No update check against checkpoint.hashicorp.com, and no config written under $HOME. */
export const PACKER_ENV = { ...process.env, CHECKPOINT_DISABLE: '1', PACKER_CONFIG_DIR: mkdtempSync(path.join(tmpdir(), 'labimg-packer-config-')) };

/**
 * `packer validate` (Debian's 1.6.6) run in `cwd` with `args` before the template folder. An undeclared
 * variable is only a warning there, so a warning counts as a failure too. Asynchronous, because the template
 * may fetch a checksum list from a server the test itself runs.
 */
export function packerValidate(args: string[], templateDir: string, cwd: string): Promise<ToolResult & { passes: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn('packer', ['validate', ...args, templateDir], { cwd, env: PACKER_ENV, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('error', (error) => reject(new Error(`packer could not run (is it installed? .ci/run installs it): ${error.message}`)));
    child.on('close', (code) => resolve({ code: code ?? -1, output, passes: code === 0 && !/Warning/.test(output) }));
  });
}
