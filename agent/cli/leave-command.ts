/**
 * `agent.js leave`: labimg-leave.service's ExecStop. When the machine is powering off on purpose (a scaling
 * group's scale-in, an operator's `poweroff`), one report tells the join endpoint that this node left rather
 * than failed (contract/agent-config.ts LEAVING_STEP). A reboot, or the unit stopped by hand, sends nothing.
 *
 * Shutdown waits for this, so it is bounded: no outbox, no enrollment, no metadata service; the name is the one the
 * node enrolled under (its stored credential), and the report is tried until LEAVE_DEADLINE_MS, well inside the
 * unit's TimeoutStopSec. What does not arrive in that time is lost with the machine.
 */
import { LEAVING_STEP } from '../../contract/agent-config';
import { backoffDelay, sleep } from '../endpoint/backoff';
import { enrolledName, HttpsEndpointSession, isTransient, NotYet } from '../endpoint/session';
import type { Host } from '../host/host';
import { RealHost } from '../host/real-host';
import type { Logger } from '../log';
import { nodeIdentity } from '../node-identity';
import { newReport } from '../outbox';
import type { Redactor } from '../redact';
import { readInputs, type InputFiles } from './node-files';

export const LEAVE_DEADLINE_MS = 15_000;

/**
 * The targets a shutdown into power-off queues (systemd.special(7),
 * https://www.freedesktop.org/software/systemd/man/latest/systemd.special.html, read 2026-12-06): poweroff.target
 * for `poweroff` and the ACPI power button a cloud presses on terminate, halt.target for `halt`. reboot.target,
 * kexec.target and soft-reboot.target come back.
 */
const POWER_OFF_TARGETS = ['poweroff.target', 'halt.target'];

/**
 * Whether a job to reach a power-off target is queued. `systemctl list-jobs --no-legend` prints one job per line,
 * its columns JOB UNIT TYPE STATE (systemd src/systemctl/systemctl-list-jobs.c, table_new("job", "unit", "type",
 * "state"); no header or "No jobs running." without the legend).
 */
export async function poweringOff(host: Pick<Host, 'query'>): Promise<boolean> {
  const jobs = await host.query(['systemctl', 'list-jobs', '--no-legend', '--no-pager']);
  if (jobs.code !== 0) return false;
  return jobs.stdout.split('\n').some((line) => POWER_OFF_TARGETS.includes(line.trim().split(/\s+/)[1] ?? ''));
}

export async function leaveCommand(options: { root: string; files: InputFiles; log: Logger; redactor: Redactor }): Promise<void> {
  const { log, redactor } = options;
  const host = new RealHost(options.root, log);
  if (!(await poweringOff(host))) {
    log.info('not powering off: nothing to tell');
    return;
  }
  const { config, node, secrets } = await readInputs(host, options.files, log);
  const endpoint = node?.endpoint;
  const name = endpoint && (await enrolledName(host, endpoint.url));
  if (!node || !endpoint || name === undefined) {
    log.info('never enrolled: nothing to tell');
    return;
  }
  const identity = { ...(await nodeIdentity(host, config, node)), name };
  const session = new HttpsEndpointSession(endpoint, identity, secrets, host, log, redactor);
  const report = newReport(identity, { id: LEAVING_STEP, phase: 'boot' }, 'done');
  const until = Date.now() + LEAVE_DEADLINE_MS;
  try {
    for (let attempt = 0; ; attempt += 1) {
      try {
        await beforeDeadline(session.sendReport(report), until);
        log.info(`told ${endpoint.url} that ${name} is leaving`);
        return;
      } catch (error) {
        const delay = backoffDelay(attempt, { firstDelayMs: 500, maxDelayMs: 4_000, deadlineMs: LEAVE_DEADLINE_MS });
        if (!isTransient(error) || Date.now() + delay > until) {
          log.warn(`could not tell ${endpoint.url}: ${redactor.redact((error as Error).message)}`);
          return;
        }
        await sleep(delay);
      }
    }
  } finally {
    session.close();
  }
}

/** `work`, or NotYet once `until` has passed: an endpoint that takes the connection and never answers must not hold up the shutdown. */
async function beforeDeadline<T>(work: Promise<T>, until: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new NotYet('no answer in time')), Math.max(0, until - Date.now()));
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
