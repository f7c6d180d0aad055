/** `agent.js run`: apply the steps of one phase or both to this machine. */
import { PATHS, Phase } from '../../contract/agent-config';
import { ConfigError } from '../config/load';
import { readOsRelease } from '../host/facts';
import { RealHost } from '../host/real-host';
import { acquireLock } from '../lock';
import type { Logger } from '../log';
import type { Redactor } from '../redact';
import { CRASH_AFTER_ENV, runAgent } from '../runner';
import { InputFiles, readAgentConfig, readNodeConfig, readSecrets } from './node-files';

export interface RunCommandOptions {
  root: string;
  phase: Phase | 'all';
  files: InputFiles;
  log: Logger;
  redactor: Redactor;
}

export async function runCommand(options: RunCommandOptions): Promise<void> {
  const { log, redactor } = options;
  const host = new RealHost(options.root, log);
  const phases: Phase[] = options.phase === 'all' ? ['bake', 'boot'] : [options.phase];

  const config = await readAgentConfig(host, options.files, log);
  const node = await readNodeConfig(host, options.files, log);
  const secrets = await readSecrets(host, options.files, log);
  redactor.add(secrets.bootstrapToken);
  redactor.add(secrets.enrollmentToken);
  if (phases.includes('boot') && !node) {
    throw new ConfigError(`the boot phase needs ${PATHS.nodeConfig} (role, join target); it is written by user-data, kickstart or Ignition`);
  }

  const os = await readOsRelease(host);
  if (os && (os.id !== config.os.id || os.versionId !== config.os.versionId)) {
    log.warn(`profile ${config.profile} targets ${config.os.id} ${config.os.versionId}, this is ${os.id} ${os.versionId}`);
  }

  const release = await acquireLock(host.hostPath('/var/lib/labimg/agent.lock'));
  try {
    await runAgent({ host, config, node, secrets, log }, { phases, redactor, crashAfter: process.env[CRASH_AFTER_ENV] || undefined });
  } finally {
    await release();
  }
}
