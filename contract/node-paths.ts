/**
 * Every path labimg keeps on a node, declared by what it belongs to. The agent and its runtime live under
 * /opt, the place the FHS gives to add-on software, and the one place every distro labimg targets can write
 * to: Flatcar's /usr, /usr/local included, is read-only.
 *
 * IMAGE_PATHS and DELIVERY_PATHS are the same on every node of a profile and may be baked into an image. INSTANCE_PATHS are one
 * machine's own: its identity, its secrets, its conversation with the join endpoint, what its boot phase
 * wrote. A bake removes every one of them (packer/scripts/cleanup.sh, given this list by `labimg build`), so an
 * image never carries a machine's credentials or half of another machine's cluster.
 */

export const IMAGE_PATHS = {
  agentBundle: '/opt/labimg/agent.js',
  nodeRuntimeDir: '/opt/labimg/node',
  agentConfig: '/etc/labimg/agent.json',
  /** The images `kubeadm config images pull` fetched in the bake; the bake's pull-images step checks it. */
  kubeadmImagesConfig: '/etc/labimg/kubeadm-images.yaml',
  /** Each step's last status: kept, so an instance of a baked image finds the bake's steps done. */
  stateFile: '/var/lib/labimg/state.json',
  /**
   * The pinned addon manifests as downloaded (the bake's fetch-manifests step, or a control plane's first need),
   * each checked against its pin before every use: a control plane booted offline from the image creates them.
   */
  addonManifests: '/var/lib/labimg/addon-manifests',
} as const;

/**
 * Image paths that only the delivery (user-data, Ignition, the bake) writes and runs, never the agent: apart from
 * PATHS, so the agent's bundle, which travels in size-limited user-data, does not carry them.
 */
export const DELIVERY_PATHS = {
  nodeInstaller: '/opt/labimg/install-node.sh',
  /** Where Ignition puts the Node.js tarball it fetched; install-node.sh unpacks it instead of downloading. */
  nodeTarball: '/opt/labimg/node.tar',
  systemdUnit: '/etc/systemd/system/labimg-agent.service',
  /** Stub user-data only: the script that fetches agent.js, run before the agent by a drop-in of its unit. */
  agentFetcher: '/opt/labimg/fetch-agent.sh',
  agentFetcherDropIn: '/etc/systemd/system/labimg-agent.service.d/fetch-agent.conf',
} as const;

export const INSTANCE_PATHS = {
  nodeConfig: '/etc/labimg/node.json',
  /** Mode 0600: bootstrap and enrollment tokens. */
  nodeSecrets: '/etc/labimg/secrets.json',
  kubeadmInitConfig: '/etc/labimg/kubeadm-init.yaml',
  /** Holds the bootstrap token: written 0600 just before `kubeadm join` and removed right after. */
  kubeadmJoinConfig: '/etc/labimg/kubeadm-join.yaml',
  calicoInstallation: '/etc/labimg/calico-installation.yaml',
  nvidiaRuntimeClass: '/etc/labimg/runtimeclass-nvidia.yaml',
  /** Mode 0600: this node's credential with the join endpoint. */
  credential: '/var/lib/labimg/credential.json',
  /** What the control plane last published to the join endpoint (no secret: the token's expiry, not the token). */
  joinPublished: '/var/lib/labimg/join-published.json',
  /** The running agent's pid. */
  agentLock: '/var/lib/labimg/agent.lock',
  /** Reports not yet delivered, and those the endpoint refused. */
  outbox: '/var/lib/labimg/outbox',
  outboxRejected: '/var/lib/labimg/outbox-rejected',
  /** The boot id of the boot that blacklisted nouveau and rebooted, so the next boot knows it did (gpu-driver step). */
  nouveauReboot: '/var/lib/labimg/nouveau-reboot',
  /** The control plane's copies of the addon manifests as kubectl read them, images moved onto a mirror's registries. */
  movedManifests: '/var/lib/labimg/manifests',
} as const;

/** The paths the agent reads and writes. */
export const PATHS = { ...IMAGE_PATHS, ...INSTANCE_PATHS } as const;
