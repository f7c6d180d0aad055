/**
 * /etc/containerd/config.toml as a typed object, serialized once as TOML (../text/toml.ts).
 *
 * The file replaces the one containerd.io ships, whose `disabled_plugins = ["cri"]` would leave the kubelet
 * without a CRI endpoint. Only the keys the lab sets are written; containerd fills in its defaults for the
 * rest (see `containerd config dump`). Version 2 is containerd 1.x's layout, version 3 containerd 2.x's.
 *
 * The agent rewrites this file on every boot (the GPU switch), so what other tools add must live beside it:
 * `imports` takes every drop-in of /etc/containerd/conf.d, merged over this file in name order: containerd 2.x
 * merges key by key (docs/man/containerd-config.toml.5.md, checked 2026-12-05), containerd 1.x replaces a whole
 * plugin table with the imported file's (services/server/config/config.go mergeConfig, "Replace entire sections";
 * seen with 1.6.20, 2026-12-06). NVIDIA's container toolkit writes its runtime there since 1.18
 * (conf.d/99-nvidia.toml), and so does the GPU operator through it: their settings survive the agent's next boot.
 * On containerd 1.x that drop-in also takes labimg's CRI settings with it, which is why the GPU operator stacks
 * need containerd 2.x (builder/profiles/semantic.ts).
 */
import { stringifyToml } from '../text/toml';
import type { ContainerdSpec } from '../../contract/agent-config';
import { managedHeader } from '../text/managed-header';
import type { DefaultRuntime } from './runtime-choice';

export const CONTAINERD_CONFIG = '/etc/containerd/config.toml';
export const CONTAINERD_CERTS_DIR = '/etc/containerd/certs.d';
/** Drop-ins other tools write, imported after this file's own settings. */
export const CONTAINERD_DROP_INS = '/etc/containerd/conf.d/*.toml';

// Type aliases, not interfaces: only an alias is assignable to TomlTable's index signature.
type RuncOptions = {
  SystemdCgroup: boolean;
  /** Set for runtimes that are runc-compatible wrappers, like nvidia-container-runtime. */
  BinaryName?: string;
};

type RuntimeEntry = {
  runtime_type: 'io.containerd.runc.v2';
  options: RuncOptions;
};

type RuntimeSection = {
  default_runtime_name: string;
  runtimes: Record<string, RuntimeEntry>;
};

export type ContainerdConfigV2 = {
  version: 2;
  imports: string[];
  disabled_plugins: string[];
  plugins: {
    'io.containerd.grpc.v1.cri': {
      sandbox_image: string;
      containerd: RuntimeSection;
      registry: { config_path: string };
    };
  };
};

export type ContainerdConfigV3 = {
  version: 3;
  imports: string[];
  disabled_plugins: string[];
  plugins: {
    'io.containerd.cri.v1.images': {
      pinned_images: { sandbox: string };
      registry: { config_path: string };
    };
    'io.containerd.cri.v1.runtime': {
      containerd: RuntimeSection;
    };
  };
};

export type ContainerdConfig = ContainerdConfigV2 | ContainerdConfigV3;

function runtimeSection(spec: ContainerdSpec, runtime: DefaultRuntime): RuntimeSection {
  const runtimes: Record<string, RuntimeEntry> = {
    runc: { runtime_type: 'io.containerd.runc.v2', options: { SystemdCgroup: spec.systemdCgroup } },
  };
  if (runtime.name === 'nvidia') {
    // Same options as runc, as nvidia-ctk does: the cgroup driver must not change with the runtime.
    runtimes.nvidia = { runtime_type: 'io.containerd.runc.v2', options: { BinaryName: runtime.binary, SystemdCgroup: spec.systemdCgroup } };
  }
  return { default_runtime_name: runtime.name, runtimes };
}

export function containerdConfig(spec: ContainerdSpec, runtime: DefaultRuntime): ContainerdConfig {
  // Explicitly empty: the distro file disables the CRI plugin, and an absent key would look like an oversight.
  const disabled_plugins: string[] = [];
  const registry = { config_path: CONTAINERD_CERTS_DIR };
  if (spec.configVersion === 3) {
    return {
      version: 3,
      imports: [CONTAINERD_DROP_INS],
      disabled_plugins,
      plugins: {
        'io.containerd.cri.v1.images': { pinned_images: { sandbox: spec.sandboxImage }, registry },
        'io.containerd.cri.v1.runtime': { containerd: runtimeSection(spec, runtime) },
      },
    };
  }
  return {
    version: 2,
    imports: [CONTAINERD_DROP_INS],
    disabled_plugins,
    plugins: {
      'io.containerd.grpc.v1.cri': { sandbox_image: spec.sandboxImage, containerd: runtimeSection(spec, runtime), registry },
    },
  };
}

export function renderContainerdConfig(spec: ContainerdSpec, runtime: DefaultRuntime): string {
  return managedHeader() + stringifyToml(containerdConfig(spec, runtime));
}
