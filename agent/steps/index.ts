/**
 * Every step, in the order the lab does them. Bake steps prepare an image (or a fresh host) and need no
 * instance config; boot steps run on every boot of an instance and are cheap when nothing changed.
 */
import { aptRepos } from './apt-repos';
import { cni, cniManifests } from './cni';
import { containerdConfig } from './containerd-config';
import { containerdDropIn } from './containerd-drop-in';
import { containerdMirrors } from './containerd-mirrors';
import { dockerDaemon } from './docker-daemon';
import { enableServices } from './enable-services';
import { firewallOff } from './firewall-off';
import { devicePluginManifests, gpuDevicePlugin } from './gpu-device-plugin';
import { gpuDriver } from './gpu-driver';
import { gpuGate } from './gpu-gate';
import { gpuAllocatable, nodeRegistered } from './gpu-ready';
import { gpuSwitch } from './gpu-switch';
import { installGpuPackages } from './install-gpu-packages';
import { installKubernetes } from './install-kubernetes';
import { installRuntime } from './install-runtime';
import { kernelHeaders } from './kernel-headers';
import { kernelModules } from './kernel-modules';
import { kubeadmInit } from './kubeadm-init';
import { kubernetesBinaries } from './kubernetes-binaries';
import { kubeadmJoin } from './kubeadm-join';
import { refreshTimer } from './refresh-timer';
import { leaveUnit } from './leave-unit';
import { kubeconfig } from './kubeconfig';
import { fetchManifestsStep } from './manifests-step';
import { publishJoinMaterial } from './publish-join-material';
import { pullImages } from './pull-images';
import { removeStaleRuntime } from './remove-stale-runtime';
import { selinux } from './selinux';
import type { Step } from './step';
import { swapOff } from './swap-off';
import { sysctls } from './sysctls';
import { yumRepos } from './yum-repos';

export const STEPS: readonly Step[] = [
  // bake: host preparation
  firewallOff,
  selinux,
  swapOff,
  kernelModules,
  sysctls,
  // bake: packages
  yumRepos,
  aptRepos,
  removeStaleRuntime,
  installRuntime,
  kernelHeaders,
  installGpuPackages,
  // bake: runtime configuration
  containerdConfig,
  // After the config exists: the restart that follows the drop-in reads it at once.
  containerdDropIn,
  containerdMirrors,
  dockerDaemon,
  installKubernetes,
  kubernetesBinaries,
  enableServices,
  pullImages,
  fetchManifestsStep([cniManifests, devicePluginManifests]),
  // boot
  gpuDriver,
  gpuSwitch,
  kubeadmInit,
  kubeconfig,
  publishJoinMaterial,
  refreshTimer,
  leaveUnit,
  cni,
  gpuDevicePlugin,
  // The readiness gate: lifted by the control plane, waited for by every node whose GPUs were verified.
  gpuGate,
  kubeadmJoin,
  nodeRegistered,
  gpuAllocatable,
];
