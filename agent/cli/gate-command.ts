/**
 * `agent.js gpu-gate`: the control plane's side of the GPU readiness gate (agent/gpu/readiness-gate.ts), run by
 * labimg-gpu-gate.service for as long as the control plane runs. It watches the cluster's nodes with the admin
 * credential and lifts the gate from each node whose `nvidia.com/gpu` has become allocatable.
 *
 * A watch, not a poll: an idle cluster costs nothing, and a node is lifted moments after its device plugin
 * registers. `kubectl get nodes --watch` prints every node, then every changed node, each through the output
 * template, and exits when the API server ends the watch (k8s.io/kubectl pkg/cmd/get/get.go, GetOptions.watch;
 * read 2026-12-06); the gate then starts it again, which lists every node again, so nothing is missed in between.
 * The template (NODE_LINE) prints one line per node: its name, its taints and its allocatable GPUs, tab-separated;
 * kubectl's JSONPath prints a list as JSON on one line (k8s.io/client-go util/jsonpath, printValue: json.Marshal),
 * which JSON.parse reads, and a missing field as nothing (--allow-missing-template-keys defaults to true).
 */
import { spawn } from 'child_process';
import { GPU_RESOURCE, liftGate } from '../gpu/readiness-gate';
import type { Host } from '../host/host';
import { RealHost } from '../host/real-host';
import { kubectlArgv } from '../kube/kubectl';
import type { Logger } from '../log';

const NODE_LINE = `jsonpath={.metadata.name}{"\\t"}{.spec.taints}{"\\t"}{.status.allocatable.nvidia\\.com/gpu}{"\\n"}`;

/** Between two watches: long enough not to spin against an API server that is down, short against the gate's wait. */
const RESTART_DELAY_MS = 5_000;

export async function gpuGateCommand(root: string, log: Logger): Promise<never> {
  const host = new RealHost(root, log);
  log.info('watching nodes to lift the GPU readiness gate once their GPUs are allocatable');
  for (;;) {
    const [command, ...args] = kubectlArgv(host, ['get', 'nodes', '--watch', '-o', NODE_LINE]);
    // kubectl's own complaints (API server down, watch expired) go straight to the journal beside the gate's.
    const kubectl = spawn(command!, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    // One patch at a time, in the order the nodes came: a node's later line must not overtake its earlier one.
    let lifting = Promise.resolve();
    let partial = '';
    kubectl.stdout.setEncoding('utf8').on('data', (text: string) => {
      const lines = (partial + text).split('\n');
      partial = lines.pop()!;
      for (const line of lines) lifting = lifting.then(() => liftFromLine(host, log, line));
    });
    await new Promise((resolve) => kubectl.on('error', resolve).on('close', resolve));
    await lifting;
    await new Promise((resolve) => setTimeout(resolve, RESTART_DELAY_MS));
  }
}

/** Lifts the gate from the node of one NODE_LINE when its GPUs are allocatable. Never rejects: the gate goes on. */
async function liftFromLine(host: Host, log: Logger, line: string): Promise<void> {
  const [name, taints, gpus] = line.split('\t');
  try {
    const result = await liftGate(host, name!, { spec: { taints: taints ? JSON.parse(taints) : [] }, status: { allocatable: { [GPU_RESOURCE]: gpus ?? '' } } });
    if (result === undefined) return;
    // A refused patch (the taints changed since the line was printed) is tried again on the node's next line.
    log.info(`node ${name}: ${gpus} ${GPU_RESOURCE} allocatable; ${result.code === 0 ? 'lifted the GPU readiness gate' : `could not lift the GPU readiness gate: ${result.stderr.trim()}`}`);
  } catch (error) {
    log.warn(`node ${name}: ${(error as Error).message}`);
  }
}
