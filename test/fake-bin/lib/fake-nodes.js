'use strict';
/**
 * The stand-ins' Node objects as the API server serves them, and what kubectl does with them (`get node NAME -o json`,
 * `get nodes --watch -o jsonpath=...`, `patch node NAME --type=json`).
 *
 * A Node is stored by the kubeadm stand-in as {kind: 'Node', name, labels, taints} in the machine's kube-objects;
 * served, it is a v1 Node (metadata, spec.taints, status.allocatable). Its allocatable `nvidia.com/gpu` is what the
 * real chain would make it, and only that: the device plugin registers the GPUs with the kubelet once it runs on the
 * node, which takes
 *   - a device-plugin DaemonSet in the cluster (created through kubectl on this machine, or on any machine of the
 *     test's cluster: cluster.json `daemonSets`) whose pod template tolerates every NoSchedule and NoExecute taint of
 *     the node (the scheduler's TaintToleration filter, k8s.io/api core/v1 toleration.go ToleratesTaint: an empty
 *     key with Exists matches every taint; otherwise keys must be equal, then Exists matches any value and Equal
 *     (the default) the same value; an empty effect matches every effect);
 *   - the driver loaded: GPUs bound to the nvidia driver in sysfs, less those lost ($ROOT/.fake/gpus-lost.json),
 *     which is what nvidia-smi (and so the plugin) sees;
 *   - the nvidia runtime as containerd's (or Docker's) default, since the static plugin manifest names no
 *     RuntimeClass and needs the toolkit's hook to see the GPUs.
 * NVIDIA's GPU operator is the other way there: its ClusterPolicy (from the operator's template) has the operator run
 * the device plugin, the toolkit and, unless `driver.enabled` is false, the driver as DaemonSets with the policy's
 * `daemonsets.tolerations`; its toolkit points containerd at its own runtime, so no default runtime is needed, and
 * its driver container drives every NVIDIA GPU nouveau does not hold.
 * A test may also pin a node's allocatable GPUs outright ($ROOT/.fake/gpu-allocatable.json: {"NODE": n}), as a
 * kubelet that lost its plugin (0) or a plugin sharing GPUs (n > GPUs) would report.
 */
const { parse: parseToml } = require('smol-toml');
const fake = require('./fake-machine');
const kernel = require('./fake-kernel');
const { loadCluster, updateCluster } = require('./fake-cluster');

const GPU_RESOURCE = 'nvidia.com/gpu';
/** What a 2-core, 4 GiB stand-in machine's kubelet reports besides GPUs. */
const BASE_ALLOCATABLE = { cpu: '2', memory: '3849436Ki', pods: '110', 'ephemeral-storage': '37569620724' };

function clusterDir() {
  return process.env.LABIMG_FAKE_CLUSTER || undefined;
}

/** toleration.go ToleratesTaint, for one toleration and one taint. */
function tolerates(toleration, taint) {
  if (toleration.effect && toleration.effect !== taint.effect) return false;
  const operator = toleration.operator || 'Equal';
  if (!toleration.key) return operator === 'Exists';
  if (toleration.key !== taint.key) return false;
  if (operator === 'Exists') return true;
  return (toleration.value || '') === (taint.value || '');
}

/** A DaemonSet's pods may run on a node when they tolerate its NoSchedule and NoExecute taints. */
function schedulableOn(tolerations, taints) {
  return (taints || []).filter((t) => t.effect !== 'PreferNoSchedule').every((taint) => (tolerations || []).some((tol) => tolerates(tol, taint)));
}

/** What could make GPUs allocatable in the cluster: {name, tolerations, bringsDriver, needsDefaultRuntime}. */
function devicePlugins(objects) {
  const cluster = loadCluster(clusterDir());
  return [...devicePluginsOf(objects), ...((cluster && cluster.daemonSets) || [])];
}

/** Records the DaemonSets a create made in the test's cluster, where other machines' kubelets see them too. */
function shareDaemonSets(objects) {
  const dir = clusterDir();
  if (!dir || !loadCluster(dir)) return;
  updateCluster(dir, (state) => {
    state.daemonSets = devicePluginsOf(objects);
  });
}

function devicePluginsOf(objects) {
  const plugins = objects
    .filter((o) => o.kind === 'DaemonSet' && /device-plugin/.test(o.name || ''))
    .map((o) => ({ name: o.name, tolerations: (((o.spec || {}).template || {}).spec || {}).tolerations || [], bringsDriver: false, needsDefaultRuntime: true }));
  const operators = objects
    .filter((o) => o.kind === 'ClusterPolicy')
    .map((o) => {
      const spec = o.spec || {};
      return { name: o.name, tolerations: (spec.daemonsets || {}).tolerations || [], bringsDriver: (spec.driver || {}).enabled !== false, needsDefaultRuntime: false };
    });
  return [...plugins, ...operators];
}

function defaultRuntime() {
  const docker = fake.readText(fake.rootPath('/etc/docker/daemon.json'));
  if (docker !== undefined && JSON.parse(docker)['default-runtime']) return JSON.parse(docker)['default-runtime'];
  const text = fake.readText(fake.rootPath('/etc/containerd/config.toml'));
  if (text === undefined) return undefined;
  const plugins = parseToml(text).plugins || {};
  const cri = plugins['io.containerd.cri.v1.runtime'] || plugins['io.containerd.grpc.v1.cri'] || {};
  return (cri.containerd || {}).default_runtime_name;
}

/** The GPUs a driver drives: the host's nvidia module's, or the operator's driver container's (all nouveau leaves). */
function drivenGpus(bringsDriver) {
  const root = fake.rootPath('/');
  const lost = fake.loadState('gpus-lost', []);
  const driven = (gpu) => (bringsDriver ? gpu.driver !== 'nouveau' : gpu.driver === 'nvidia');
  return kernel.nvidiaGpus(root).filter((gpu) => driven(gpu) && !lost.includes(gpu.address)).length;
}

function allocatableGpus(node, objects) {
  const pinned = fake.loadState('gpu-allocatable', {});
  if (Object.prototype.hasOwnProperty.call(pinned, node.name)) return pinned[node.name];
  const running = devicePlugins(objects).filter((plugin) => schedulableOn(plugin.tolerations, node.taints));
  const counts = running.map((plugin) => (plugin.needsDefaultRuntime && defaultRuntime() !== 'nvidia' ? 0 : drivenGpus(plugin.bringsDriver)));
  return Math.max(0, ...counts);
}

/** The stored Node as the API server serves it. */
function served(node, objects) {
  const gpus = allocatableGpus(node, objects);
  const spec = node.taints && node.taints.length > 0 ? { taints: node.taints } : {};
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: node.name, labels: { 'kubernetes.io/hostname': node.name, ...(node.labels || {}) } },
    spec,
    status: { allocatable: { ...BASE_ALLOCATABLE, ...(gpus > 0 ? { [GPU_RESOURCE]: String(gpus) } : {}) } },
  };
}

/**
 * kubectl's JSONPath output for one object (k8s.io/client-go util/jsonpath), the subset the agent uses: `{.a.b}`
 * fields (a `\.` inside a name is a literal dot) and `{"..."}` literals with \t and \n. A string prints as itself, a
 * list or map as JSON (printValue: json.Marshal), a missing field as nothing (--allow-missing-template-keys, on
 * by default). Anything else is refused, as kubectl refuses what it cannot parse.
 */
function jsonpath(template, object) {
  return template.replace(/\{([^{}]*)\}/g, (_, expression) => {
    const literal = /^"((?:[^"\\]|\\.)*)"$/.exec(expression);
    if (literal) return literal[1].replace(/\\t/g, '\t').replace(/\\n/g, '\n');
    if (!/^(\.(?:[A-Za-z0-9_/-]|\\\.)+)+$/.test(expression)) fake.fail(`error: error parsing jsonpath ${template}, unrecognized identifier ${expression}`);
    let value = object;
    for (const name of expression.slice(1).split(/(?<!\\)\./)) value = value == null ? undefined : value[name.replace(/\\\./g, '.')];
    if (value === undefined || value === null) return '';
    return typeof value === 'string' ? value : JSON.stringify(value);
  });
}

/**
 * A JSON patch (RFC 6902) of a Node's taints: `test` and `remove` at /spec/taints/N, all or nothing, as the API
 * server applies one (a failed test refuses the whole patch). Other operations or paths are not modelled.
 */
function patchTaints(node, patchText, name) {
  const ops = JSON.parse(patchText);
  const taints = [...(node.taints || [])];
  for (const op of ops) {
    const match = /^\/spec\/taints\/(\d+)$/.exec(op.path || '');
    if (!match || !['test', 'remove'].includes(op.op)) fake.fail(`kubectl stand-in: patch ${JSON.stringify(op)} is not modelled`, 64);
    const index = Number(match[1]);
    if (index >= taints.length) fake.fail(`The request is invalid: the server rejected our request due to an error in our request`);
    if (op.op === 'test' && JSON.stringify(normalTaint(taints[index])) !== JSON.stringify(normalTaint(op.value))) {
      fake.fail(`The request is invalid: the server rejected our request due to an error in our request`);
    }
    if (op.op === 'remove') taints.splice(index, 1);
  }
  node.taints = taints;
  return `node/${name} patched\n`;
}

function normalTaint(taint) {
  return taint && { key: taint.key, value: taint.value || undefined, effect: taint.effect };
}

module.exports = { GPU_RESOURCE, served, jsonpath, patchTaints, shareDaemonSets, tolerates };
