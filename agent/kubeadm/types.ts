/**
 * The parts of kubeadm's config API (kubeadm.k8s.io/v1beta3 and v1beta4) and the kubelet's
 * (kubelet.config.k8s.io/v1beta1) that the agent writes. Field names are the API's JSON names.
 */
export type KubeadmApiVersion = 'kubeadm.k8s.io/v1beta3' | 'kubeadm.k8s.io/v1beta4';

/** v1beta3: a map; v1beta4: a list of {name, value} (duplicates allowed). */
export type ExtraArgs = Record<string, string> | Array<{ name: string; value: string }>;

export interface Taint {
  key: string;
  effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
  value?: string;
}

export interface NodeRegistration {
  name?: string;
  criSocket: string;
  /** An empty list means "no taints"; leaving it out means kubeadm's default control-plane taint. */
  taints?: Taint[];
  kubeletExtraArgs?: ExtraArgs;
}

export interface InitConfiguration {
  apiVersion: KubeadmApiVersion;
  kind: 'InitConfiguration';
  nodeRegistration: NodeRegistration;
  localAPIEndpoint?: { advertiseAddress: string; bindPort?: number };
}

export interface ClusterConfiguration {
  apiVersion: KubeadmApiVersion;
  kind: 'ClusterConfiguration';
  kubernetesVersion: string;
  imageRepository: string;
  dns?: { imageRepository: string };
  controlPlaneEndpoint?: string;
  networking: { podSubnet: string; serviceSubnet: string };
  controllerManager?: { extraArgs: ExtraArgs };
}

export interface JoinConfiguration {
  apiVersion: KubeadmApiVersion;
  kind: 'JoinConfiguration';
  nodeRegistration: NodeRegistration;
  discovery: {
    bootstrapToken: {
      token: string;
      apiServerEndpoint: string;
      /** Pins the cluster CA; the agent never sets unsafeSkipCAVerification. */
      caCertHashes: string[];
    };
  };
}

export interface KubeletConfiguration {
  apiVersion: 'kubelet.config.k8s.io/v1beta1';
  kind: 'KubeletConfiguration';
  cgroupDriver: 'systemd' | 'cgroupfs';
  volumePluginDir?: string;
  /** Go durations, e.g. "30s". */
  shutdownGracePeriod?: string;
  shutdownGracePeriodCriticalPods?: string;
}

export type KubeadmDocument = InitConfiguration | ClusterConfiguration | JoinConfiguration | KubeletConfiguration;
