/**
 * One agent scenario: a fake machine, a first run of `agent.js run`, and a second run on the result — what
 * most agent tests assert on. Built once per scenario in a `test.before` hook.
 */
import * as fs from 'node:fs';
import { loadAll } from 'js-yaml';
import type { PhaseReport } from '../../contract/agent-config';
import type { AgentState } from '../../agent/state';
import { AgentRun, FakeMachine, KubeadmCall, MachineOptions, isQuery } from './agent-machine';

export interface Scenario {
  machine: FakeMachine;
  first: AgentRun;
  /** Mutating stand-in calls of the first run, argv with the temp root replaced by <root>. */
  changes: string[][];
  snapshotAfterFirst: Record<string, string>;
  second: AgentRun;
  /** Mutating stand-in calls of the second run (should be none). */
  changesOnSecondRun: string[][];
  snapshotAfterSecond: Record<string, string>;
}

export interface ScenarioOptions extends MachineOptions {
  /** Runs on the fresh machine before the agent does: published downloads, files a test needs in place. */
  prepare?(machine: FakeMachine): void;
}

export async function runScenario(options: ScenarioOptions, args: string[] = ['run']): Promise<Scenario> {
  const machine = await FakeMachine.create(options);
  options.prepare?.(machine);
  const first = await machine.runAgent(args);
  const mark = machine.logLength();
  const snapshotAfterFirst = machine.snapshot();
  const second = await machine.runAgent(args);
  const relative = (argv: string[]) => argv.map((a) => a.split(machine.root).join('<root>'));
  const commands = machine.commands().map((c) => relative(c.argv));
  return {
    machine,
    first,
    changes: commands.slice(0, mark).filter((a) => !isQuery(a)),
    snapshotAfterFirst,
    second,
    changesOnSecondRun: commands.slice(mark).filter((a) => !isQuery(a)),
    snapshotAfterSecond: machine.snapshot(),
  };
}

/** The documents of every config file the kubeadm stand-in was given for `command`. */
export function kubeadmDocuments(machine: FakeMachine, command: string): Array<Record<string, any>> {
  const calls = machine.fakeState<KubeadmCall[]>('kubeadm-configs') ?? [];
  return calls.filter((c) => c.command === command).flatMap((c) => loadAll(c.text) as Array<Record<string, any>>);
}

export function documentOfKind(docs: Array<Record<string, any>>, kind: string): Record<string, any> {
  const doc = docs.find((d) => d.kind === kind);
  if (!doc) throw new Error(`no ${kind} among ${docs.map((d) => d.kind).join(', ')}`);
  return doc;
}

export function outboxReports(machine: FakeMachine): PhaseReport[] {
  const dir = machine.path('/var/lib/labimg/outbox');
  return fs
    .readdirSync(dir)
    .sort()
    .map((name) => JSON.parse(fs.readFileSync(`${dir}/${name}`, 'utf8')) as PhaseReport);
}

export function agentState(machine: FakeMachine): AgentState {
  return JSON.parse(machine.read('/var/lib/labimg/state.json') ?? 'null') as AgentState;
}

/** Index of the first command starting with prefix, for ordering assertions; -1 when absent. */
export function indexOfCommand(commands: string[][], prefix: string[]): number {
  return commands.findIndex((argv) => prefix.every((part, i) => argv[i] === part));
}

/**
 * Every step of centos-gpu on a GPU control plane, in order. agent-plan.test.ts asserts the plan is exactly
 * this, so agent-resume.test.ts, which kills the agent after each of them, cannot miss a step.
 */
export const CENTOS_GPU_CONTROL_PLANE_STEPS = [
  'bake:firewall-off', 'bake:selinux', 'bake:swap-off', 'bake:kernel-modules', 'bake:sysctls', 'bake:yum-repos',
  'bake:remove-stale-runtime', 'bake:install-runtime', 'bake:kernel-headers', 'bake:install-gpu-packages', 'bake:containerd-config',
  'bake:docker-daemon', 'bake:install-kubernetes', 'bake:enable-services', 'bake:pull-images',
  'bake:fetch-manifests',
  'boot:gpu-driver', 'boot:gpu-switch', 'boot:kubeadm-init', 'boot:kubeconfig', 'boot:cni', 'boot:gpu-device-plugin',
  'boot:gpu-gate', 'boot:node-registered', 'boot:gpu-allocatable',
] as const;
