/**
 * Builds kubeadm's config documents from the AgentConfig and NodeConfig, and serializes them once as a
 * multi-document YAML file. Flags are never used: a config file is what the plan shows and what kubeadm
 * validates as a whole.
 */
import type { AgentConfig, NodeConfig } from '../../contract/agent-config';
import { manifestStream } from '../text/manifest-stream';
import type {
  ClusterConfiguration,
  ExtraArgs,
  InitConfiguration,
  JoinConfiguration,
  KubeadmApiVersion,
  KubeadmDocument,
  KubeletConfiguration,
  NodeRegistration,
  Taint,
} from './types';

export interface JoinMaterial {
  token: string;
  apiServerEndpoint: string;
  caCertHashes: string[];
}

/** The same arguments, in the shape each API version wants. */
export function extraArgs(apiVersion: KubeadmApiVersion, args: Record<string, string>): ExtraArgs {
  if (apiVersion === 'kubeadm.k8s.io/v1beta3') return { ...args };
  return Object.entries(args).map(([name, value]) => ({ name, value }));
}

/** kubelet --node-labels takes k=v pairs joined by commas. */
function kubeletArgs(labels: Record<string, string>): Record<string, string> {
  const pairs = Object.entries(labels).map(([k, v]) => `${k}=${v}`);
  return pairs.length > 0 ? { 'node-labels': pairs.join(',') } : {};
}

/** What the GPU decision adds to a node's registration (agent/gpu/detect.ts, GpuDecision). */
export interface RegistrationExtras {
  labels: Record<string, string>;
  taints: Taint[];
}

function nodeRegistration(config: AgentConfig, node: NodeConfig, { labels, taints }: RegistrationExtras): NodeRegistration {
  const registration: NodeRegistration = { criSocket: config.kubernetes.criSocket };
  if (taints.length > 0) registration.taints = [...taints];
  if (node.nodeName) registration.name = node.nodeName;
  const args = kubeletArgs(labels);
  if (Object.keys(args).length > 0) registration.kubeletExtraArgs = extraArgs(config.kubernetes.kubeadmApiVersion, args);
  return registration;
}

/** The kubelet's cgroup driver must be the runtime's, or the kubelet cannot start pods. */
export function kubeletCgroupDriver(config: AgentConfig): 'systemd' | 'cgroupfs' {
  if (config.runtime.cri === 'docker' && config.runtime.docker) return config.runtime.docker.cgroupDriver;
  return config.runtime.containerd.systemdCgroup ? 'systemd' : 'cgroupfs';
}

function clusterConfiguration(config: AgentConfig, node?: NodeConfig): ClusterConfiguration {
  const k8s = config.kubernetes;
  const cluster: ClusterConfiguration = {
    apiVersion: k8s.kubeadmApiVersion,
    kind: 'ClusterConfiguration',
    kubernetesVersion: `v${k8s.version}`,
    imageRepository: k8s.imageRepository,
    networking: { podSubnet: k8s.podSubnet, serviceSubnet: k8s.serviceSubnet },
  };
  if (k8s.dnsImageRepository) cluster.dns = { imageRepository: k8s.dnsImageRepository };
  if (node?.controlPlaneEndpoint) cluster.controlPlaneEndpoint = node.controlPlaneEndpoint;
  // kubeadm mounts the controller manager's flex-volume folder from the host, creating it: it must be writable.
  if (k8s.volumePluginDir) cluster.controllerManager = { extraArgs: extraArgs(k8s.kubeadmApiVersion, { 'flex-volume-plugin-dir': k8s.volumePluginDir }) };
  return cluster;
}

export function initDocuments(config: AgentConfig, node: NodeConfig, extras: RegistrationExtras): KubeadmDocument[] {
  const k8s = config.kubernetes;
  const registration = nodeRegistration(config, node, extras);
  // One-node labs run workloads on the control plane: an explicit empty list tells kubeadm "no taints".
  const controlPlaneTaints: Taint[] = k8s.schedulableControlPlane ? [] : k8s.controlPlaneTaints.map((key) => ({ key, effect: 'NoSchedule' }));
  registration.taints = [...controlPlaneTaints, ...extras.taints];
  const init: InitConfiguration = { apiVersion: k8s.kubeadmApiVersion, kind: 'InitConfiguration', nodeRegistration: registration };
  if (node.advertiseAddress) init.localAPIEndpoint = { advertiseAddress: node.advertiseAddress };
  const kubelet: KubeletConfiguration = {
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    cgroupDriver: kubeletCgroupDriver(config),
  };
  // kubeadm stores this KubeletConfiguration for the whole cluster, so joining nodes get the same folder.
  if (k8s.volumePluginDir) kubelet.volumePluginDir = k8s.volumePluginDir;
  // Graceful node shutdown, which a pool's scale-in needs, likewise reaches every node that joins.
  if (k8s.gracefulShutdown) {
    kubelet.shutdownGracePeriod = `${k8s.gracefulShutdown.seconds}s`;
    kubelet.shutdownGracePeriodCriticalPods = `${k8s.gracefulShutdown.criticalPodsSeconds}s`;
  }
  return [init, clusterConfiguration(config, node), kubelet];
}

export function joinDocuments(config: AgentConfig, node: NodeConfig, join: JoinMaterial, extras: RegistrationExtras): KubeadmDocument[] {
  const joinConfig: JoinConfiguration = {
    apiVersion: config.kubernetes.kubeadmApiVersion,
    kind: 'JoinConfiguration',
    nodeRegistration: nodeRegistration(config, node, extras),
    discovery: { bootstrapToken: { token: join.token, apiServerEndpoint: join.apiServerEndpoint, caCertHashes: [...join.caCertHashes] } },
  };
  return [joinConfig];
}

/** For `kubeadm config images pull|list`: the image repository and version, and the socket to pull through. */
export function imagesDocuments(config: AgentConfig): KubeadmDocument[] {
  const init: InitConfiguration = {
    apiVersion: config.kubernetes.kubeadmApiVersion,
    kind: 'InitConfiguration',
    nodeRegistration: { criSocket: config.kubernetes.criSocket },
  };
  return [init, clusterConfiguration(config)];
}

export function renderKubeadmConfig(documents: KubeadmDocument[]): string {
  return manifestStream(documents);
}
