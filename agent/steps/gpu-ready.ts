/**
 * A GPU node whose GPUs the agent verified waits for the two milestones only the cluster can tell: its Node object
 * exists (the kubelet registered), then `nvidia.com/gpu` is allocatable and the readiness gate is lifted. Each
 * step's `done` report is a time-to-GPU milestone (contract/gpu-timing.ts); a node that does not get there in time
 * fails the step with what it saw, instead of looking ready while its GPUs cannot be had.
 *
 * It asks with the node's own kubelet credential (kubelet.conf): the Node authorizer lets a kubelet get its own
 * Node object and no other (kubernetes plugin/pkg/auth/authorizer/node/node_authorizer.go, authorizeNode, and the
 * static node rules before it; read 2026-12-06), which is all this needs.
 */
import { GPU_MILESTONES } from '../../contract/gpu-timing';
import { allocatableGpus, gateTaintIndex, GPU_RESOURCE, gpusExpected, liftGate, type NodeObject } from '../gpu/readiness-gate';
import { readHostname } from '../host/facts';
import { CommandFailed } from '../host/host';
import { KUBELET_KUBECONFIG } from '../kubeadm/files';
import { isControlPlane, nodeOf, Step, StepContext } from './step';

const POLL_MS = 2_000;

/** kubeadm names the node nodeRegistration.name, else the hostname in lower case (k8s.io/component-helpers node/util GetHostname). */
async function kubeNodeName(ctx: StepContext): Promise<string> {
  return nodeOf(ctx).nodeName ?? (await readHostname(ctx.host)).toLowerCase();
}

/** The node as the API server has it, or why not (not registered yet, API server not answering). */
async function readOwnNode(ctx: StepContext, run: boolean): Promise<NodeObject | string> {
  const argv = ['kubectl', '--kubeconfig', ctx.host.hostPath(KUBELET_KUBECONFIG), 'get', 'node', await kubeNodeName(ctx), '-o', 'json'];
  try {
    // run: logged, and listed by a plan; query: read-only, logged at debug level.
    const result = run ? await ctx.host.run(argv, { timeoutMs: 30_000 }) : await ctx.host.query(argv, { timeoutMs: 30_000 });
    if (result.code !== 0) return result.stderr.trim() || `kubectl exited with ${result.code}`;
    return JSON.parse(result.stdout) as NodeObject;
  } catch (error) {
    return error instanceof CommandFailed ? error.result.stderr.trim() || error.message : (error as Error).message;
  }
}

/** Why the GPUs are not ready for pods yet, or undefined when they are. */
function gpuNotReady(node: NodeObject | string): string | undefined {
  if (typeof node === 'string') return node;
  if (allocatableGpus(node) === 0) return `no ${GPU_RESOURCE} allocatable (is the device plugin running here?)`;
  if (gateTaintIndex(node) >= 0) return 'the readiness gate is on (lifted by labimg-gpu-gate on the control plane)';
  return undefined;
}

function gpuStep(index: 2 | 3, title: string, notReady: (node: NodeObject | string) => string | undefined, waitMinutes: number): Step {
  const id = GPU_MILESTONES[index].step;
  return {
    id,
    phase: 'boot',
    title,
    applies: (ctx) => ctx.config.gpu !== undefined && ctx.node !== undefined,
    // Only where GPUs are expected this boot: a node without them has no milestone to reach.
    appliesNow: (ctx) => gpusExpected(ctx.host, ctx.config),
    async check(ctx) {
      return notReady(await readOwnNode(ctx, false)) === undefined;
    },
    async apply(ctx) {
      for (let polls = 0; ; polls++) {
        // The first read is logged (and planned) as the command it is; the polls after it only at debug level.
        let node = await readOwnNode(ctx, polls === 0);
        // A control plane holds cluster rights: it lifts its own gate at once rather than wait for its gate service.
        if (isControlPlane(ctx) && typeof node !== 'string' && (await liftGate(ctx.host, await kubeNodeName(ctx), node))?.code === 0) {
          ctx.log.info(`${id}: lifted the GPU readiness gate`);
          node = await readOwnNode(ctx, false);
        }
        const why = notReady(node);
        if (why === undefined) return;
        if (polls * POLL_MS >= waitMinutes * 60_000) throw new Error(`${why}, after ${waitMinutes} minutes`);
        if (polls % 15 === 0) ctx.log.info(`${id}: ${why}; waiting`);
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
    },
  };
}

/** kubeadm join returns before the kubelet has registered; a minute is usual, ten is a broken node. */
export const nodeRegistered = gpuStep(2, 'Wait until the kubelet has registered this GPU node', (node) => (typeof node === 'string' ? node : undefined), 10);

/** The device plugin's image may come through a slow mirror first; past 20 minutes something is wrong. */
export const gpuAllocatable = gpuStep(3, 'Wait until nvidia.com/gpu is allocatable and the readiness gate is lifted', gpuNotReady, 20);
