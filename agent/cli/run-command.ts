/** `agent.js run`: apply the steps of one phase or both to this machine. `agent.js refresh`: the refresh timer's job. */
import { PATHS } from '../../contract/node-paths';
import { Phase } from '../../contract/agent-config';
import type { NodeConfig } from '../../contract/agent-config';
import { ConfigError } from '../config/load';
import { OutboxSender } from '../endpoint/outbox-sender';
import { HttpsEndpointSession, isTransient, type EndpointSession } from '../endpoint/session';
import { readOsRelease } from '../host/facts';
import type { Host } from '../host/host';
import { RealHost } from '../host/real-host';
import { acquireAgentLock } from '../lock';
import type { Logger } from '../log';
import { nodeIdentity, withInstanceName } from '../node-identity';
import type { Redactor } from '../redact';
import { CRASH_AFTER_ENV, runAgent } from '../runner';
import { publishJoinMaterial } from '../steps/publish-join-material';
import type { Step, StepContext } from '../steps/step';
import { InputFiles, readInputs } from './node-files';

export interface RunCommandOptions {
  root: string;
  phase: Phase | 'all';
  files: InputFiles;
  log: Logger;
  redactor: Redactor;
}

/**
 * How long a finished run keeps trying to deliver reports the endpoint has not taken yet. What is left is
 * delivered by the next run (the next boot, or the control plane's refresh timer).
 */
const REPORT_DRAIN_ENV = 'LABIMG_AGENT_REPORT_DRAIN_SECONDS';
const DEFAULT_REPORT_DRAIN_MS = 10 * 60_000;

export async function runCommand(options: RunCommandOptions): Promise<void> {
  const phases: Phase[] = options.phase === 'all' ? ['bake', 'boot'] : [options.phase];
  await withAgent(options, phases.includes('boot'), (ctx) =>
    runAgent(ctx, { phases, redactor: options.redactor, crashAfter: process.env[CRASH_AFTER_ENV] || undefined, afterReport: ctx.afterReport }),
  );
}

/**
 * The refresh timer's job: renew the node's credential past half its lifetime, publish fresh join material when
 * the token nears expiry (a control plane), and deliver the outbox.
 */
export async function refreshCommand(options: Omit<RunCommandOptions, 'phase'>): Promise<void> {
  // Only what needs doing every 15 minutes: each step run is a report, and a worker has none of these to do.
  const steps: Step[] = [publishJoinMaterial];
  await withAgent({ ...options, phase: 'boot' }, true, async (ctx) => {
    await renewCredential(ctx);
    return runAgent(ctx, { phases: ['boot'], redactor: options.redactor, steps, afterReport: ctx.afterReport });
  });
}

/** An endpoint that cannot be reached now is asked again by the next run of the timer, long before expiry. */
async function renewCredential(ctx: StepContext): Promise<void> {
  try {
    await ctx.endpoint?.renewCredentialIfDue();
  } catch (error) {
    if (!isTransient(error)) throw error;
    ctx.log.warn(`renewing this node's credential: ${(error as Error).message}; the next refresh tries again`);
  }
}

async function withAgent(options: RunCommandOptions, needsNode: boolean, work: (ctx: StepContext & { afterReport?: () => void }) => Promise<unknown>): Promise<void> {
  const { log, redactor } = options;
  const host = new RealHost(options.root, log);
  const { config, node: given, secrets } = await readInputs(host, options.files, log);
  redactor.add(secrets.bootstrapToken);
  redactor.add(secrets.enrollmentToken);
  if (needsNode && !given) {
    throw new ConfigError(`the boot phase needs ${PATHS.nodeConfig} (role, join target); it is written by user-data, kickstart or Ignition`);
  }

  const os = await readOsRelease(host);
  if (os && (os.id !== config.os.id || os.versionId !== config.os.versionId)) {
    log.warn(`profile ${config.profile} targets ${config.os.id} ${config.os.versionId}, this is ${os.id} ${os.versionId}`);
  }

  const release = await acquireAgentLock(host.hostPath(PATHS.agentLock));
  let session: EndpointSession | undefined;
  let sender: OutboxSender | undefined;
  let node = given;
  try {
    // Settled once, before anything reports or enrolls: every step of the run sees the same name.
    if (node) node = await withInstanceName(node, log, host);
    // The bake phase has no node.json and so no endpoint: an image never enrolls and never holds a credential.
    if (node?.endpoint) {
      session = new HttpsEndpointSession(node.endpoint, await nodeIdentity(host, config, node), secrets, host, log, redactor);
      sender = new OutboxSender(host, session, log);
      void sender.flush(); // whatever a previous run or boot left behind
    }
    const afterReport = sender ? () => void sender?.flush() : undefined;
    await work({ host, config, node, secrets, log, endpoint: session, afterReport });
  } finally {
    if (sender) await deliverLeftovers(sender, host, node, log);
    session?.close();
    await release();
  }
}

async function deliverLeftovers(sender: OutboxSender, host: Host, node: NodeConfig | undefined, log: Logger): Promise<void> {
  const seconds = Number(process.env[REPORT_DRAIN_ENV]);
  const deadline = Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : DEFAULT_REPORT_DRAIN_MS;
  if (await sender.drain(deadline)) return;
  log.warn(`${await sender.pending()} reports for ${node?.endpoint?.url ?? 'the endpoint'} are still in ${host.hostPath(PATHS.outbox)}; the next run delivers them`);
}
