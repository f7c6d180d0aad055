/**
 * The real validators the tests run on generated artifacts (Debian packages installed by .ci/run).
 * Each wrapper returns what the tool said, so a test can assert success AND see a failure on broken input.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

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
