/**
 * labimg agent entry point (bundled into dist/agent.js for Node 16).
 *
 *   node agent.js run    [--phase bake|boot|all] [--root DIR] [--config F] [--node F] [--secrets F] [--verbose]
 *   node agent.js status [--root DIR]
 *   node agent.js refresh [--root DIR] [--config F] [--node F] [--secrets F] [--verbose]   (the refresh timer's job)
 *   node agent.js gpu-gate [--root DIR]   (a control plane's labimg-gpu-gate.service; runs until stopped)
 *   node agent.js leave [--root DIR] [--config F] [--node F] [--secrets F]   (labimg-leave.service's stop: powering off)
 *
 * The dry run of every step is `labimg plan P` on the builder's side (agent/plan.ts), not a command of the node's
 * agent: it shows the same plan, and the agent travels in user-data, whose size clouds limit.
 *
 * Exit status: 0 done, 1 a step failed (named in the last log line), 2 bad usage or config.
 */
import { parseArgs, ParsedArgs, UsageError, oneOf, optionValue } from './cli/args';
import { gpuGateCommand } from './cli/gate-command';
import { leaveCommand } from './cli/leave-command';
import { refreshCommand, runCommand } from './cli/run-command';
import { statusCommand } from './cli/status-command';
import { ConfigError } from './config/load';
import { InstanceMetadataError } from './endpoint/instance-metadata';
import { PinMismatch } from './endpoint/pinned-https';
import { AgentBusy } from './lock';
import { createLogger } from './log';
import { Redactor } from './redact';
import { StepFailed } from './runner';

const USAGE = `usage:
  agent.js run    [--phase bake|boot|all] [--root DIR] [--config F] [--node F] [--secrets F] [--verbose]
  agent.js status [--root DIR]
  agent.js refresh [--root DIR] [--config F] [--node F] [--secrets F] [--verbose]
  agent.js gpu-gate [--root DIR]
  agent.js leave  [--root DIR] [--config F] [--node F] [--secrets F]
`;

const VALUED = ['phase', 'root', 'config', 'node', 'secrets'] as const;
const SWITCHES = ['verbose', 'help'] as const;

async function main(argv: string[]): Promise<number> {
  const redactor = new Redactor();
  let args: ParsedArgs;
  try {
    args = parseArgs(argv, VALUED, SWITCHES);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const log = createLogger({ redactor, verbose: args.options.verbose === true });
  const root = optionValue(args, 'root') ?? '/';
  const files = { config: optionValue(args, 'config'), node: optionValue(args, 'node'), secrets: optionValue(args, 'secrets') };

  try {
    switch (args.command) {
      case 'run':
        await runCommand({ root, files, log, redactor, phase: oneOf(optionValue(args, 'phase'), ['bake', 'boot', 'all'] as const, 'phase') ?? 'all' });
        return 0;
      case 'refresh':
        await refreshCommand({ root, files, log, redactor });
        return 0;
      case 'leave':
        await leaveCommand({ root, files, log, redactor });
        return 0;
      case 'gpu-gate':
        return await gpuGateCommand(root, log);
      case 'status':
        process.stdout.write(await statusCommand(root));
        return 0;
      default:
        process.stdout.write(USAGE);
        return args.command === undefined || args.options.help ? 0 : 2;
    }
  } catch (err) {
    if (err instanceof StepFailed) {
      log.error(err.message);
      return 1;
    }
    if (err instanceof UsageError) {
      log.error(`${err.message}\n${USAGE}`);
      return 2;
    }
    if (err instanceof ConfigError || err instanceof AgentBusy || err instanceof PinMismatch) {
      log.error(err.message);
      return 2;
    }
    if (err instanceof InstanceMetadataError) {
      // The instance's identity (its name) could not be read: the message names the URL and the answer.
      log.error(err.message);
      return 1;
    }
    log.error(`unexpected error: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
    return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`${String(err)}\n`);
    process.exitCode = 1;
  },
);
