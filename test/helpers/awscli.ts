/**
 * The AWS CLI of Debian 12 (apt package awscli, 2.9.19) as a validator: it checks a request against its service
 * model before it looks for credentials, so with none at all a request that is well formed stops at "Unable to
 * locate credentials" (exit 253) and one that is not at "Parameter validation failed" (exit 252), and nothing
 * goes out on the network either way. /usr/bin/aws by name: another `aws` on PATH may not be that CLI.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const AWS_CLI = '/usr/bin/aws';

export function awsCliPresent(): boolean {
  return existsSync(AWS_CLI);
}

export interface AwsCliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** An environment with no credentials in it: a fresh HOME, no config or credentials file, no instance metadata. */
export function credentiallessEnv(): NodeJS.ProcessEnv {
  const home = mkdtempSync(path.join(tmpdir(), 'labimg-awscli-'));
  return {
    PATH: '/usr/bin:/bin',
    HOME: home,
    AWS_CONFIG_FILE: path.join(home, 'no-config'),
    AWS_SHARED_CREDENTIALS_FILE: path.join(home, 'no-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_PAGER: '',
    LANG: 'C.UTF-8',
  };
}

export function awsCli(args: readonly string[], cwd: string): AwsCliResult {
  const result = spawnSync(AWS_CLI, args, { cwd, env: credentiallessEnv(), encoding: 'utf8', timeout: 60_000 });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/** What the CLI says when the request passed parameter validation and only the credentials were missing. */
export const NO_CREDENTIALS = /Unable to locate credentials/;
export const PARAMETER_VALIDATION_FAILED = /Parameter validation failed/;
