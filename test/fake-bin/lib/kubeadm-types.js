'use strict';
/**
 * The config types the kubeadm stand-in decodes, written down as data: for every kind, every field (its JSON
 * name, as the Go struct's `json:"..."` tag spells it) with its type, nested structs spelled out, so that
 * lib/kubeadm-config.js can decode a document the way Go's encoding/json (sigs.k8s.io/json) does, at every
 * level, and report an unknown field by its full dotted path.
 *
 * Read on 2026-12-05 from:
 *   - kubeadm v1beta4: cmd/kubeadm/app/apis/kubeadm/v1beta4/types.go, kubernetes/kubernetes at commit
 *     1329935739c3aa007d23cb9a4dadfee9d59ff79b (has Timeouts, EncryptionAlgorithm, ImagePullSerial, ExtraEnvs,
 *     ResetConfiguration and UpgradeConfiguration: the v1beta4 that kubeadm 1.31+ reads).
 *   - kubeadm v1beta3: cmd/kubeadm/app/apis/kubeadm/v1beta3/types.go, kubernetes/kubernetes at commit
 *     428c3fe9540a2cbe8daf4645879a87b30bbf1d02 (v1beta3 has been frozen since it stopped being the newest).
 *   - BootstrapToken: cmd/kubeadm/app/apis/bootstraptoken/v1/types.go (commit 95f08499d652a6211121d8af35f470609217c730)
 *     and utils.go (commit 1c9cf914f2f951313b8e9f7c321f5bd50b5e3d9f: the token string's own UnmarshalJSON).
 *   - KubeletConfiguration: k8s.io/kubelet config/v1beta1/types.go (staging/src/k8s.io/kubelet), tag v0.35.7
 *     = Kubernetes v1.35.7, commit 53285727612c017f985231451b8c37226680182c.
 *   - KubeProxyConfiguration: k8s.io/kube-proxy config/v1alpha1/types.go (staging/src/k8s.io/kube-proxy), tag
 *     v0.35.7, commit 97f452950b3a638ff49b78489801cfc39ea93fc5.
 *   - Shared types: k8s.io/component-base v0.35.7 (commit bab2adfc14c0b9bdc9d32d2e45620f9909c36e53)
 *     logs/api/v1 LoggingConfiguration, tracing/api/v1 TracingConfiguration, config/v1alpha1
 *     ClientConnectionConfiguration; k8s.io/api core/v1 Taint and EnvVar; metav1.TypeMeta, Duration, Time.
 *
 * The kubelet and kube-proxy tables are those of 1.35: a field added later is unknown here, one removed
 * earlier (none that labimg writes) would be accepted for an older kubeadm that did not know it.
 *
 * A type is a string naming a scalar (see SCALARS), or { list: T }, { map: T } (map[string]T), or a struct
 * { struct: 'GoName', fields: { jsonName: T } }. `go` is the Go type named in decode errors.
 */

/** Scalars: what JSON value each accepts, and the Go type it is named by in `json: cannot unmarshal` errors. */
const SCALARS = {
  string: { json: ['string'], go: 'string' },
  bool: { json: ['bool'], go: 'bool' },
  int32: { json: ['number'], integer: true, go: 'int32' },
  int64: { json: ['number'], integer: true, go: 'int64' },
  int: { json: ['number'], integer: true, go: 'int' },
  uint32: { json: ['number'], integer: true, unsigned: true, go: 'uint32' },
  float32: { json: ['number'], go: 'float32' },
  float64: { json: ['number'], go: 'float64' },
  // metav1.Duration unmarshals a JSON string through time.ParseDuration.
  duration: { json: ['string'], go: 'string', duration: true },
  // metav1.Time unmarshals an RFC 3339 string.
  time: { json: ['string'], go: 'string', rfc3339: true },
  // resource.Quantity accepts a string or a number.
  quantity: { json: ['string', 'number'], go: 'resource.Quantity' },
  // component-base TimeOrMetaDuration: a duration string or a number of nanoseconds.
  timeOrMetaDuration: { json: ['string', 'number'], go: 'v1.TimeOrMetaDuration' },
  // BootstrapTokenString: a string its UnmarshalJSON checks against the bootstrap token pattern.
  bootstrapTokenString: { json: ['string'], go: 'v1.BootstrapTokenString', bootstrapToken: true },
};

const list = (of) => ({ list: of });
const map = (of) => ({ map: of });
// pkg: the Go package name the type prints with; absent, the version of the document's own API (v1beta3...).
const struct = (name, fields, pkg) => ({ struct: name, fields, ...(pkg ? { pkg } : {}) });

/** Marks `type` and the structs inside it as declared in Go package `pkg` (shared types print as v1.Taint...). */
function inPackage(pkg, type) {
  if (type && typeof type === 'object') {
    if (type.struct && !type.pkg) type.pkg = pkg;
    for (const inner of Object.values(type.fields || {})) inPackage(pkg, inner);
    if (type.list) inPackage(pkg, type.list);
    if (type.map) inPackage(pkg, type.map);
  }
  return type;
}

// metav1.TypeMeta, inlined into every top-level kind.
const TYPE_META = { apiVersion: 'string', kind: 'string' };

// ---- core/v1 --------------------------------------------------------------------------------------------

const TAINT = inPackage('v1', struct('Taint', { key: 'string', value: 'string', effect: 'string', timeAdded: 'time' }));

const ENV_VAR_SOURCE = inPackage('v1', struct('EnvVarSource', {
  fieldRef: struct('ObjectFieldSelector', { apiVersion: 'string', fieldPath: 'string' }),
  resourceFieldRef: struct('ResourceFieldSelector', { containerName: 'string', resource: 'string', divisor: 'quantity' }),
  configMapKeyRef: struct('ConfigMapKeySelector', { name: 'string', key: 'string', optional: 'bool' }),
  secretKeyRef: struct('SecretKeySelector', { name: 'string', key: 'string', optional: 'bool' }),
  fileKeyRef: struct('FileKeySelector', { volumeName: 'string', path: 'string', key: 'string', optional: 'bool' }),
}));
// kubeadm v1beta4 EnvVar inlines corev1.EnvVar.
const ENV_VAR = struct('EnvVar', { name: 'string', value: 'string', valueFrom: ENV_VAR_SOURCE });

// ---- kubeadm, shared by v1beta3 and v1beta4 -------------------------------------------------------------

const BOOTSTRAP_TOKEN = inPackage('v1', struct('BootstrapToken', {
  token: 'bootstrapTokenString',
  description: 'string',
  ttl: 'duration',
  expires: 'time',
  usages: list('string'),
  groups: list('string'),
}));
const API_ENDPOINT = struct('APIEndpoint', { advertiseAddress: 'string', bindPort: 'int32' });
const IMAGE_META = { imageRepository: 'string', imageTag: 'string' };
const HOST_PATH_MOUNT = struct('HostPathMount', { name: 'string', hostPath: 'string', mountPath: 'string', readOnly: 'bool', pathType: 'string' });
const PATCHES = struct('Patches', { directory: 'string' });
const NETWORKING = struct('Networking', { serviceSubnet: 'string', podSubnet: 'string', dnsDomain: 'string' });
const EXTERNAL_ETCD = struct('ExternalEtcd', { endpoints: list('string'), caFile: 'string', certFile: 'string', keyFile: 'string' });
const FILE_DISCOVERY = struct('FileDiscovery', { kubeConfigPath: 'string' });
const BOOTSTRAP_TOKEN_DISCOVERY = struct('BootstrapTokenDiscovery', {
  token: 'string',
  apiServerEndpoint: 'string',
  caCertHashes: list('string'),
  unsafeSkipCAVerification: 'bool',
});

// ---- kubeadm.k8s.io/v1beta3 -----------------------------------------------------------------------------

const V1BETA3_NODE_REGISTRATION = struct('NodeRegistrationOptions', {
  name: 'string',
  criSocket: 'string',
  taints: list(TAINT),
  kubeletExtraArgs: map('string'),
  ignorePreflightErrors: list('string'),
  imagePullPolicy: 'string',
});
const V1BETA3_COMPONENT = { extraArgs: map('string'), extraVolumes: list(HOST_PATH_MOUNT) };

const V1BETA3 = {
  InitConfiguration: struct('InitConfiguration', {
    ...TYPE_META,
    bootstrapTokens: list(BOOTSTRAP_TOKEN),
    nodeRegistration: V1BETA3_NODE_REGISTRATION,
    localAPIEndpoint: API_ENDPOINT,
    certificateKey: 'string',
    skipPhases: list('string'),
    patches: PATCHES,
  }),
  ClusterConfiguration: struct('ClusterConfiguration', {
    ...TYPE_META,
    etcd: struct('Etcd', {
      local: struct('LocalEtcd', { ...IMAGE_META, dataDir: 'string', extraArgs: map('string'), serverCertSANs: list('string'), peerCertSANs: list('string') }),
      external: EXTERNAL_ETCD,
    }),
    networking: NETWORKING,
    kubernetesVersion: 'string',
    controlPlaneEndpoint: 'string',
    apiServer: struct('APIServer', { ...V1BETA3_COMPONENT, certSANs: list('string'), timeoutForControlPlane: 'duration' }),
    controllerManager: struct('ControlPlaneComponent', V1BETA3_COMPONENT),
    scheduler: struct('ControlPlaneComponent', V1BETA3_COMPONENT),
    dns: struct('DNS', IMAGE_META),
    certificatesDir: 'string',
    imageRepository: 'string',
    featureGates: map('bool'),
    clusterName: 'string',
  }),
  JoinConfiguration: struct('JoinConfiguration', {
    ...TYPE_META,
    nodeRegistration: V1BETA3_NODE_REGISTRATION,
    caCertPath: 'string',
    discovery: struct('Discovery', {
      bootstrapToken: BOOTSTRAP_TOKEN_DISCOVERY,
      file: FILE_DISCOVERY,
      tlsBootstrapToken: 'string',
      timeout: 'duration',
    }),
    controlPlane: struct('JoinControlPlane', { localAPIEndpoint: API_ENDPOINT, certificateKey: 'string' }),
    skipPhases: list('string'),
    patches: PATCHES,
  }),
};

// ---- kubeadm.k8s.io/v1beta4 -----------------------------------------------------------------------------

const ARG = struct('Arg', { name: 'string', value: 'string' });
const TIMEOUTS = struct('Timeouts', {
  controlPlaneComponentHealthCheck: 'duration',
  kubeletHealthCheck: 'duration',
  kubernetesAPICall: 'duration',
  etcdAPICall: 'duration',
  tlsBootstrap: 'duration',
  discovery: 'duration',
  upgradeManifests: 'duration',
});
const V1BETA4_NODE_REGISTRATION = struct('NodeRegistrationOptions', {
  name: 'string',
  criSocket: 'string',
  taints: list(TAINT),
  kubeletExtraArgs: list(ARG),
  ignorePreflightErrors: list('string'),
  imagePullPolicy: 'string',
  imagePullSerial: 'bool',
});
const V1BETA4_COMPONENT = { extraArgs: list(ARG), extraVolumes: list(HOST_PATH_MOUNT), extraEnvs: list(ENV_VAR) };

const V1BETA4 = {
  InitConfiguration: struct('InitConfiguration', {
    ...TYPE_META,
    bootstrapTokens: list(BOOTSTRAP_TOKEN),
    dryRun: 'bool',
    nodeRegistration: V1BETA4_NODE_REGISTRATION,
    localAPIEndpoint: API_ENDPOINT,
    certificateKey: 'string',
    skipPhases: list('string'),
    patches: PATCHES,
    timeouts: TIMEOUTS,
  }),
  ClusterConfiguration: struct('ClusterConfiguration', {
    ...TYPE_META,
    etcd: struct('Etcd', {
      local: struct('LocalEtcd', {
        ...IMAGE_META,
        dataDir: 'string',
        extraArgs: list(ARG),
        extraEnvs: list(ENV_VAR),
        serverCertSANs: list('string'),
        peerCertSANs: list('string'),
      }),
      external: EXTERNAL_ETCD,
    }),
    networking: NETWORKING,
    kubernetesVersion: 'string',
    controlPlaneEndpoint: 'string',
    apiServer: struct('APIServer', { ...V1BETA4_COMPONENT, certSANs: list('string') }),
    controllerManager: struct('ControlPlaneComponent', V1BETA4_COMPONENT),
    scheduler: struct('ControlPlaneComponent', V1BETA4_COMPONENT),
    dns: struct('DNS', { ...IMAGE_META, disabled: 'bool' }),
    proxy: struct('Proxy', { disabled: 'bool' }),
    certificatesDir: 'string',
    imageRepository: 'string',
    featureGates: map('bool'),
    clusterName: 'string',
    encryptionAlgorithm: 'string',
    certificateValidityPeriod: 'duration',
    caCertificateValidityPeriod: 'duration',
  }),
  JoinConfiguration: struct('JoinConfiguration', {
    ...TYPE_META,
    dryRun: 'bool',
    nodeRegistration: V1BETA4_NODE_REGISTRATION,
    caCertPath: 'string',
    discovery: struct('Discovery', {
      bootstrapToken: BOOTSTRAP_TOKEN_DISCOVERY,
      file: FILE_DISCOVERY,
      tlsBootstrapToken: 'string',
    }),
    controlPlane: struct('JoinControlPlane', { localAPIEndpoint: API_ENDPOINT, certificateKey: 'string' }),
    skipPhases: list('string'),
    patches: PATCHES,
    timeouts: TIMEOUTS,
  }),
  ResetConfiguration: struct('ResetConfiguration', {
    ...TYPE_META,
    cleanupTmpDir: 'bool',
    certificatesDir: 'string',
    criSocket: 'string',
    dryRun: 'bool',
    force: 'bool',
    ignorePreflightErrors: list('string'),
    skipPhases: list('string'),
    unmountFlags: list('string'),
    timeouts: TIMEOUTS,
  }),
  UpgradeConfiguration: struct('UpgradeConfiguration', {
    ...TYPE_META,
    apply: struct('UpgradeApplyConfiguration', {
      kubernetesVersion: 'string',
      allowExperimentalUpgrades: 'bool',
      allowRCUpgrades: 'bool',
      certificateRenewal: 'bool',
      dryRun: 'bool',
      etcdUpgrade: 'bool',
      forceUpgrade: 'bool',
      ignorePreflightErrors: list('string'),
      patches: PATCHES,
      printConfig: 'bool',
      // No json tag on this one in types.go, so Go's decoder (case-sensitive in sigs.k8s.io/json) wants the Go name.
      SkipPhases: list('string'),
    }),
    diff: struct('UpgradeDiffConfiguration', { kubernetesVersion: 'string', contextLines: 'int' }),
    node: struct('UpgradeNodeConfiguration', {
      certificateRenewal: 'bool',
      dryRun: 'bool',
      etcdUpgrade: 'bool',
      ignorePreflightErrors: list('string'),
      skipPhases: list('string'),
      patches: PATCHES,
    }),
    plan: struct('UpgradePlanConfiguration', {
      kubernetesVersion: 'string',
      allowExperimentalUpgrades: 'bool',
      allowRCUpgrades: 'bool',
      dryRun: 'bool',
      ignorePreflightErrors: list('string'),
      printConfig: 'bool',
    }),
    timeouts: TIMEOUTS,
  }),
};

// ---- component-base -------------------------------------------------------------------------------------

const OUTPUT_ROUTING = { splitStream: 'bool', infoBufferSize: 'quantity' };
const LOGGING = inPackage('v1', struct('LoggingConfiguration', {
  format: 'string',
  flushFrequency: 'timeOrMetaDuration',
  verbosity: 'uint32',
  vmodule: list(struct('VModuleItem', { filePattern: 'string', verbosity: 'uint32' })),
  options: struct('FormatOptions', { text: struct('TextOptions', OUTPUT_ROUTING), json: struct('JSONOptions', OUTPUT_ROUTING) }),
}));
const TRACING = inPackage('v1', struct('TracingConfiguration', { endpoint: 'string', samplingRatePerMillion: 'int32' }));
const CLIENT_CONNECTION = inPackage('v1alpha1', struct('ClientConnectionConfiguration', {
  kubeconfig: 'string',
  acceptContentTypes: 'string',
  contentType: 'string',
  qps: 'float32',
  burst: 'int32',
}));

// ---- kubelet.config.k8s.io/v1beta1 ----------------------------------------------------------------------

const KUBELET_CONFIGURATION = struct('KubeletConfiguration', {
  ...TYPE_META,
  enableServer: 'bool',
  staticPodPath: 'string',
  podLogsDir: 'string',
  syncFrequency: 'duration',
  fileCheckFrequency: 'duration',
  httpCheckFrequency: 'duration',
  staticPodURL: 'string',
  staticPodURLHeader: map(list('string')),
  address: 'string',
  port: 'int32',
  readOnlyPort: 'int32',
  tlsCertFile: 'string',
  tlsPrivateKeyFile: 'string',
  tlsCipherSuites: list('string'),
  tlsMinVersion: 'string',
  rotateCertificates: 'bool',
  serverTLSBootstrap: 'bool',
  authentication: struct('KubeletAuthentication', {
    x509: struct('KubeletX509Authentication', { clientCAFile: 'string' }),
    webhook: struct('KubeletWebhookAuthentication', { enabled: 'bool', cacheTTL: 'duration' }),
    anonymous: struct('KubeletAnonymousAuthentication', { enabled: 'bool' }),
  }),
  authorization: struct('KubeletAuthorization', {
    mode: 'string',
    webhook: struct('KubeletWebhookAuthorization', { cacheAuthorizedTTL: 'duration', cacheUnauthorizedTTL: 'duration' }),
  }),
  registryPullQPS: 'int32',
  registryBurst: 'int32',
  imagePullCredentialsVerificationPolicy: 'string',
  preloadedImagesVerificationAllowlist: list('string'),
  eventRecordQPS: 'int32',
  eventBurst: 'int32',
  enableDebuggingHandlers: 'bool',
  enableContentionProfiling: 'bool',
  healthzPort: 'int32',
  healthzBindAddress: 'string',
  oomScoreAdj: 'int32',
  clusterDomain: 'string',
  clusterDNS: list('string'),
  streamingConnectionIdleTimeout: 'duration',
  nodeStatusUpdateFrequency: 'duration',
  nodeStatusReportFrequency: 'duration',
  nodeLeaseDurationSeconds: 'int32',
  imageMinimumGCAge: 'duration',
  imageMaximumGCAge: 'duration',
  imageGCHighThresholdPercent: 'int32',
  imageGCLowThresholdPercent: 'int32',
  volumeStatsAggPeriod: 'duration',
  kubeletCgroups: 'string',
  systemCgroups: 'string',
  cgroupRoot: 'string',
  cgroupsPerQOS: 'bool',
  cgroupDriver: 'string',
  cpuManagerPolicy: 'string',
  singleProcessOOMKill: 'bool',
  cpuManagerPolicyOptions: map('string'),
  cpuManagerReconcilePeriod: 'duration',
  memoryManagerPolicy: 'string',
  topologyManagerPolicy: 'string',
  topologyManagerScope: 'string',
  topologyManagerPolicyOptions: map('string'),
  qosReserved: map('string'),
  runtimeRequestTimeout: 'duration',
  hairpinMode: 'string',
  maxPods: 'int32',
  podCIDR: 'string',
  podPidsLimit: 'int64',
  resolvConf: 'string',
  runOnce: 'bool',
  cpuCFSQuota: 'bool',
  cpuCFSQuotaPeriod: 'duration',
  nodeStatusMaxImages: 'int32',
  maxOpenFiles: 'int64',
  contentType: 'string',
  kubeAPIQPS: 'int32',
  kubeAPIBurst: 'int32',
  serializeImagePulls: 'bool',
  maxParallelImagePulls: 'int32',
  evictionHard: map('string'),
  evictionSoft: map('string'),
  evictionSoftGracePeriod: map('string'),
  evictionPressureTransitionPeriod: 'duration',
  evictionMaxPodGracePeriod: 'int32',
  evictionMinimumReclaim: map('string'),
  mergeDefaultEvictionSettings: 'bool',
  podsPerCore: 'int32',
  enableControllerAttachDetach: 'bool',
  protectKernelDefaults: 'bool',
  makeIPTablesUtilChains: 'bool',
  iptablesMasqueradeBit: 'int32',
  iptablesDropBit: 'int32',
  featureGates: map('bool'),
  failSwapOn: 'bool',
  memorySwap: struct('MemorySwapConfiguration', { swapBehavior: 'string' }),
  containerLogMaxSize: 'string',
  containerLogMaxFiles: 'int32',
  containerLogMaxWorkers: 'int32',
  containerLogMonitorInterval: 'duration',
  configMapAndSecretChangeDetectionStrategy: 'string',
  systemReserved: map('string'),
  kubeReserved: map('string'),
  reservedSystemCPUs: 'string',
  showHiddenMetricsForVersion: 'string',
  systemReservedCgroup: 'string',
  kubeReservedCgroup: 'string',
  enforceNodeAllocatable: list('string'),
  allowedUnsafeSysctls: list('string'),
  volumePluginDir: 'string',
  providerID: 'string',
  kernelMemcgNotification: 'bool',
  logging: LOGGING,
  enableSystemLogHandler: 'bool',
  enableSystemLogQuery: 'bool',
  shutdownGracePeriod: 'duration',
  shutdownGracePeriodCriticalPods: 'duration',
  shutdownGracePeriodByPodPriority: list(struct('ShutdownGracePeriodByPodPriority', { priority: 'int32', shutdownGracePeriodSeconds: 'int64' })),
  crashLoopBackOff: struct('CrashLoopBackOffConfig', { maxContainerRestartPeriod: 'duration' }),
  reservedMemory: list(struct('MemoryReservation', { numaNode: 'int32', limits: map('quantity') })),
  enableProfilingHandler: 'bool',
  enableDebugFlagsHandler: 'bool',
  seccompDefault: 'bool',
  memoryThrottlingFactor: 'float64',
  registerWithTaints: list(TAINT),
  registerNode: 'bool',
  tracing: TRACING,
  localStorageCapacityIsolation: 'bool',
  containerRuntimeEndpoint: 'string',
  imageServiceEndpoint: 'string',
  failCgroupV1: 'bool',
  userNamespaces: struct('UserNamespaces', { idsPerPod: 'int64' }),
});

// ---- kubeproxy.config.k8s.io/v1alpha1 -------------------------------------------------------------------

const KUBE_PROXY_CONFIGURATION = struct('KubeProxyConfiguration', {
  ...TYPE_META,
  featureGates: map('bool'),
  clientConnection: CLIENT_CONNECTION,
  logging: LOGGING,
  hostnameOverride: 'string',
  bindAddress: 'string',
  healthzBindAddress: 'string',
  metricsBindAddress: 'string',
  bindAddressHardFail: 'bool',
  enableProfiling: 'bool',
  showHiddenMetricsForVersion: 'string',
  mode: 'string',
  iptables: struct('KubeProxyIPTablesConfiguration', {
    masqueradeBit: 'int32',
    masqueradeAll: 'bool',
    localhostNodePorts: 'bool',
    syncPeriod: 'duration',
    minSyncPeriod: 'duration',
  }),
  ipvs: struct('KubeProxyIPVSConfiguration', {
    syncPeriod: 'duration',
    minSyncPeriod: 'duration',
    scheduler: 'string',
    excludeCIDRs: list('string'),
    strictARP: 'bool',
    tcpTimeout: 'duration',
    tcpFinTimeout: 'duration',
    udpTimeout: 'duration',
  }),
  nftables: struct('KubeProxyNFTablesConfiguration', {
    masqueradeBit: 'int32',
    masqueradeAll: 'bool',
    syncPeriod: 'duration',
    minSyncPeriod: 'duration',
  }),
  winkernel: struct('KubeProxyWinkernelConfiguration', {
    networkName: 'string',
    sourceVip: 'string',
    enableDSR: 'bool',
    rootHnsEndpointName: 'string',
    forwardHealthCheckVip: 'bool',
  }),
  detectLocalMode: 'string',
  detectLocal: struct('DetectLocalConfiguration', { bridgeInterface: 'string', interfaceNamePrefix: 'string' }),
  clusterCIDR: 'string',
  nodePortAddresses: list('string'),
  oomScoreAdj: 'int32',
  conntrack: struct('KubeProxyConntrackConfiguration', {
    maxPerCore: 'int32',
    min: 'int32',
    tcpEstablishedTimeout: 'duration',
    tcpCloseWaitTimeout: 'duration',
    tcpBeLiberal: 'bool',
    udpTimeout: 'duration',
    udpStreamTimeout: 'duration',
  }),
  configSyncPeriod: 'duration',
  portRange: 'string',
  windowsRunAsService: 'bool',
});

/** apiVersion → kind → type. */
const KINDS = {
  'kubeadm.k8s.io/v1beta3': V1BETA3,
  'kubeadm.k8s.io/v1beta4': V1BETA4,
  'kubelet.config.k8s.io/v1beta1': { KubeletConfiguration: KUBELET_CONFIGURATION },
  'kubeproxy.config.k8s.io/v1alpha1': { KubeProxyConfiguration: KUBE_PROXY_CONFIGURATION },
};

module.exports = { SCALARS, KINDS };
