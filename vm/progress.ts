/**
 * What the agent says on the console, as `labimg boot` reads it from the VM's serial port. The agent's unit
 * sends its output to journal and console; journald forwards it as "[  12.345678] labimg-agent[512]: text",
 * having taken the sd-daemon priority prefix off ("<6>…", which a console without journald shows as it is).
 * Boot messages, cloud-init and everything else on the console are left alone.
 */
import { STEPS } from '../agent/steps';

export type AgentEvent =
  | { kind: 'step'; step: string; title: string }
  | { kind: 'skipped'; step: string }
  | { kind: 'failed'; step: string; message: string }
  | { kind: 'done'; summary: string };

const FORWARDED = /(?:^|\] )labimg-agent\[\d+\]: (.*)$/;
const PREFIXED = /^<[0-7]>(.*)$/;

/** The text the agent printed, from one console line; undefined for anyone else's line. */
export function agentText(line: string): string | undefined {
  const clean = line.replace(/\r$/, '');
  return FORWARDED.exec(clean)?.[1] ?? PREFIXED.exec(clean)?.[1];
}

/** The agent's steps, by id: only their lines are progress (install-node.sh's "curl: …" is not). */
const STEP_IDS: ReadonlySet<string> = new Set(STEPS.map((step) => step.id));

/** The agent's event in one console line, or undefined when the line is not one. */
export function agentEvent(line: string): AgentEvent | undefined {
  const text = agentText(line);
  if (text === undefined) return undefined;
  const failed = /^step ([a-z0-9-]+) failed: (.*)$/.exec(text);
  if (failed) return { kind: 'failed', step: failed[1] as string, message: failed[2] as string };
  if (/^done: \d+ applied, \d+ already in place$/.test(text)) return { kind: 'done', summary: text.slice('done: '.length) };
  const step = /^([a-z0-9]+(?:-[a-z0-9]+)*): (.*)$/.exec(text);
  if (!step) return undefined;
  const [, id, rest] = step as unknown as [string, string, string];
  if (!STEP_IDS.has(id)) return undefined;
  return rest.startsWith('already done') ? { kind: 'skipped', step: id } : { kind: 'step', step: id, title: rest };
}

/** Splits a byte stream into lines, keeping the unfinished tail for the next chunk. */
export class LineSplitter {
  private pending = '';

  push(chunk: string): string[] {
    const text = this.pending + chunk;
    const lines = text.split('\n');
    this.pending = lines.pop() ?? '';
    return lines;
  }
}

/** One progress line for the terminal, with the seconds since the VM started. */
export function formatEvent(event: AgentEvent, seconds: number): string {
  const at = `[${String(Math.round(seconds)).padStart(4)}s]`;
  switch (event.kind) {
    case 'step':
      return `${at} ${event.step}: ${event.title}`;
    case 'skipped':
      return `${at} ${event.step}: already done`;
    case 'failed':
      return `${at} ${event.step} FAILED: ${event.message}`;
    case 'done':
      return `${at} agent done: ${event.summary}`;
  }
}
