'use strict';
/**
 * What the kubeadm stand-in knows of kubeadm's config API, from the v1beta3/v1beta4 reference: which
 * apiVersion/kind pairs a given kubeadm release accepts, the fields each kind may have, and the value formats
 * kubeadm validates. validateKubeadmConfig() throws a KubeadmConfigError with a kubeadm-like message.
 */
const yaml = require('js-yaml');

class KubeadmConfigError extends Error {}

const V1BETA3 = 'kubeadm.k8s.io/v1beta3';
const V1BETA4 = 'kubeadm.k8s.io/v1beta4';
const KUBELET = 'kubelet.config.k8s.io/v1beta1';
const KUBE_PROXY = 'kubeproxy.config.k8s.io/v1alpha1';

const COMMON_FIELDS = {
  InitConfiguration: ['apiVersion', 'kind', 'bootstrapTokens', 'nodeRegistration', 'localAPIEndpoint', 'certificateKey', 'skipPhases', 'patches'],
  ClusterConfiguration: [
    'apiVersion', 'kind', 'etcd', 'networking', 'kubernetesVersion', 'controlPlaneEndpoint', 'apiServer', 'controllerManager',
    'scheduler', 'dns', 'certificatesDir', 'imageRepository', 'featureGates', 'clusterName',
  ],
  JoinConfiguration: ['apiVersion', 'kind', 'nodeRegistration', 'caCertPath', 'discovery', 'controlPlane', 'skipPhases', 'patches'],
};
const V1BETA4_EXTRA = {
  InitConfiguration: ['dryRun', 'timeouts'],
  ClusterConfiguration: ['encryptionAlgorithm', 'certificateValidityPeriod', 'caCertificateValidityPeriod', 'proxy'],
  JoinConfiguration: ['dryRun', 'timeouts'],
};
const NODE_REGISTRATION_FIELDS = ['name', 'criSocket', 'taints', 'kubeletExtraArgs', 'ignorePreflightErrors', 'imagePullPolicy'];
const BOOTSTRAP_TOKEN_DISCOVERY_FIELDS = ['token', 'apiServerEndpoint', 'caCertHashes', 'unsafeSkipCAVerification'];
// The KubeletConfiguration fields a kubeadm config commonly sets (the full type has many more).
const KUBELET_FIELDS = [
  'apiVersion', 'kind', 'cgroupDriver', 'containerRuntimeEndpoint', 'failSwapOn', 'memorySwap', 'maxPods', 'clusterDNS',
  'clusterDomain', 'rotateCertificates', 'serverTLSBootstrap', 'systemReserved', 'kubeReserved', 'evictionHard', 'featureGates',
  'authentication', 'authorization', 'staticPodPath', 'resolvConf', 'runtimeRequestTimeout', 'shutdownGracePeriod', 'volumePluginDir',
];

const TOKEN = /^[a-z0-9]{6}\.[a-z0-9]{16}$/;
const CA_HASH = /^sha256:[a-f0-9]{64}$/;
const CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

function minorOf(version) {
  const match = /^v?1\.(\d+)\./.exec(version);
  if (!match) throw new KubeadmConfigError(`unable to parse version "${version}"`);
  return Number(match[1]);
}

function unknownKind(apiVersion, kind) {
  return new KubeadmConfigError(`no kind "${kind}" is registered for version "${apiVersion}" in scheme "k8s.io/kubernetes/cmd/kubeadm/app/apis/kubeadm/scheme/scheme.go:31"`);
}

/** The kubeadm API versions a kubeadm release (by minor) accepts, as kubeadm's validateSupportedVersion does. */
function checkApiVersion(apiVersion, kind, minor) {
  if (apiVersion === V1BETA3) {
    if (minor < 22) throw unknownKind(apiVersion, kind);
    if (minor >= 37) throw new KubeadmConfigError(`your configuration file uses an old API spec: "${apiVersion}" (kind: "${kind}"). Please use kubeadm v1.36 instead and run 'kubeadm config migrate --old-config old-config-file --new-config new-config-file', which will write the new, similar spec using a newer API version.`);
    return;
  }
  if (apiVersion === V1BETA4) {
    if (minor >= 31) return;
    if (minor >= 28) throw new KubeadmConfigError(`experimental API spec: "${apiVersion}" is not allowed. You can use the --allow-experimental-api flag if the command supports it.`);
    throw unknownKind(apiVersion, kind);
  }
  throw unknownKind(apiVersion, kind);
}

function strictFields(doc, allowed, what) {
  for (const key of Object.keys(doc)) {
    if (!allowed.includes(key)) throw new KubeadmConfigError(`error unmarshaling configuration ${what}: strict decoding error: unknown field "${key}"`);
  }
}

function gvk(doc) {
  const [group, version] = String(doc.apiVersion).split('/');
  return `schema.GroupVersionKind{Group:"${group}", Version:"${version}", Kind:"${doc.kind}"}`;
}

function checkCidr(value, field) {
  for (const part of String(value).split(',')) {
    const match = CIDR.exec(part.trim());
    const ok = match && match.slice(1, 5).every((n) => Number(n) <= 255) && Number(match[5]) <= 32;
    if (!ok) throw new KubeadmConfigError(`${field}: Invalid value: "${value}": couldn't parse subnet`);
  }
}

/** extraArgs: a map of strings in v1beta3, a list of {name, value} in v1beta4, as kubeadm decodes them. */
function checkExtraArgs(args, apiVersion, field) {
  if (args === undefined) return;
  if (apiVersion === V1BETA3) {
    if (typeof args !== 'object' || Array.isArray(args) || args === null) {
      throw new KubeadmConfigError(`json: cannot unmarshal array into Go struct field ${field} of type map[string]string`);
    }
    for (const [k, v] of Object.entries(args)) {
      if (typeof v !== 'string') throw new KubeadmConfigError(`json: cannot unmarshal ${typeof v} into Go struct field ${field}.${k} of type string`);
    }
    return;
  }
  if (!Array.isArray(args)) throw new KubeadmConfigError(`json: cannot unmarshal object into Go struct field ${field} of type []v1beta4.Arg`);
  for (const arg of args) {
    if (typeof arg !== 'object' || typeof arg.name !== 'string' || typeof arg.value !== 'string' || Object.keys(arg).some((k) => k !== 'name' && k !== 'value')) {
      throw new KubeadmConfigError(`${field}: each entry must be {name: string, value: string}, got ${JSON.stringify(arg)}`);
    }
  }
}

/** apiServer, controllerManager and scheduler share one shape (ControlPlaneComponent). */
function checkControlPlaneComponent(doc, name) {
  const component = doc[name];
  if (component === undefined) return;
  const allowed = doc.apiVersion === V1BETA4 ? ['extraArgs', 'extraVolumes', 'extraEnvs'] : ['extraArgs', 'extraVolumes'];
  strictFields(component, name === 'apiServer' ? [...allowed, 'certSANs', 'timeoutForControlPlane'] : allowed, gvk(doc));
  checkExtraArgs(component.extraArgs, doc.apiVersion, `ClusterConfiguration.${name}.extraArgs`);
}

/** DNS: ImageMeta (imageRepository, imageTag), plus `disabled` from v1beta4. */
function checkDns(doc) {
  if (doc.dns === undefined) return;
  strictFields(doc.dns, doc.apiVersion === V1BETA4 ? ['imageRepository', 'imageTag', 'disabled'] : ['imageRepository', 'imageTag'], gvk(doc));
  if (doc.dns.imageRepository !== undefined && typeof doc.dns.imageRepository !== 'string') {
    throw new KubeadmConfigError(`json: cannot unmarshal ${typeof doc.dns.imageRepository} into Go struct field ImageMeta.dns.imageRepository of type string`);
  }
}

function checkNodeRegistration(doc, path) {
  const reg = doc.nodeRegistration;
  if (reg === undefined) return;
  const allowed = doc.apiVersion === V1BETA4 ? [...NODE_REGISTRATION_FIELDS, 'imagePullSerial'] : NODE_REGISTRATION_FIELDS;
  strictFields(reg, allowed, gvk(doc));
  checkExtraArgs(reg.kubeletExtraArgs, doc.apiVersion, `NodeRegistrationOptions.${path}.kubeletExtraArgs`);
  for (const taint of reg.taints || []) {
    if (!taint.key || !['NoSchedule', 'PreferNoSchedule', 'NoExecute'].includes(taint.effect)) {
      throw new KubeadmConfigError(`${path}.taints: Invalid value: ${JSON.stringify(taint)}: a taint needs a key and an effect`);
    }
  }
}

/** A copy of kubeletExtraArgs as a plain map, whatever the API version. */
function kubeletArgs(doc) {
  const args = doc.nodeRegistration && doc.nodeRegistration.kubeletExtraArgs;
  if (!args) return {};
  if (Array.isArray(args)) return Object.fromEntries(args.map((a) => [a.name, a.value]));
  return { ...args };
}

function checkDiscovery(doc) {
  const discovery = doc.discovery;
  if (!discovery || (!discovery.bootstrapToken && !discovery.file)) {
    throw new KubeadmConfigError('discovery: Invalid value: "": bootstrapToken or file must be set');
  }
  const bt = discovery.bootstrapToken;
  if (!bt) return;
  strictFields(bt, BOOTSTRAP_TOKEN_DISCOVERY_FIELDS, gvk(doc));
  // Like kubeadm, the message repeats the offending token.
  if (!TOKEN.test(String(bt.token))) {
    throw new KubeadmConfigError(`discovery.bootstrapToken.token: Invalid value: "${bt.token}": the bootstrap token "${bt.token}" was not of the form "\\A([a-z0-9]{6})\\.([a-z0-9]{16})\\z"`);
  }
  if (!/^[^:\s]+:\d+$/.test(String(bt.apiServerEndpoint))) {
    throw new KubeadmConfigError(`discovery.bootstrapToken.apiServerEndpoint: Invalid value: "${bt.apiServerEndpoint}": address ${bt.apiServerEndpoint}: missing port in address`);
  }
  const hashes = bt.caCertHashes || [];
  if (hashes.length === 0 && !bt.unsafeSkipCAVerification) {
    throw new KubeadmConfigError('discovery.bootstrapToken.caCertHashes: Invalid value: []: using token-based discovery without caCertHashes can be unsafe. Set unsafeSkipCAVerification as true in your kubeadm config file or pass --discovery-token-unsafe-skip-ca-verification flag to continue');
  }
  for (const hash of hashes) {
    if (!CA_HASH.test(hash)) throw new KubeadmConfigError(`discovery.bootstrapToken.caCertHashes: Invalid value: "${hash}": invalid hash "${hash}", expected a "sha256:" prefix and 64 hex characters`);
  }
}

/**
 * Parses and checks a kubeadm --config file for `command` ('init' | 'join' | 'images') run by kubeadm of
 * version `kubeadmVersion`. Returns the documents by kind.
 */
function validateKubeadmConfig(text, command, kubeadmVersion) {
  let docs;
  try {
    docs = yaml.loadAll(text).filter((d) => d !== null && d !== undefined);
  } catch (err) {
    throw new KubeadmConfigError(`error converting YAML to JSON: ${err.message}`);
  }
  const minor = minorOf(kubeadmVersion);
  const byKind = {};
  const warnings = [];
  for (const doc of docs) {
    if (typeof doc !== 'object' || !doc.apiVersion || !doc.kind) throw new KubeadmConfigError('Object \'Kind\' is missing in the YAML document');
    if (doc.apiVersion === KUBELET) {
      if (doc.kind !== 'KubeletConfiguration') throw unknownKind(doc.apiVersion, doc.kind);
      strictFields(doc, KUBELET_FIELDS, gvk(doc));
      if (doc.cgroupDriver !== undefined && !['systemd', 'cgroupfs'].includes(doc.cgroupDriver)) {
        throw new KubeadmConfigError(`cgroupDriver: Invalid value: "${doc.cgroupDriver}": must be systemd or cgroupfs`);
      }
    } else if (doc.apiVersion === KUBE_PROXY) {
      if (doc.kind !== 'KubeProxyConfiguration') throw unknownKind(doc.apiVersion, doc.kind);
    } else {
      checkApiVersion(doc.apiVersion, doc.kind, minor);
      const common = COMMON_FIELDS[doc.kind];
      if (!common) throw unknownKind(doc.apiVersion, doc.kind);
      strictFields(doc, doc.apiVersion === V1BETA4 ? [...common, ...V1BETA4_EXTRA[doc.kind]] : common, gvk(doc));
      checkNodeRegistration(doc, 'nodeRegistration');
    }
    if (byKind[doc.kind]) throw new KubeadmConfigError(`found multiple ${doc.kind} documents`);
    byKind[doc.kind] = doc;
  }
  const versions = new Set(docs.filter((d) => String(d.apiVersion).startsWith('kubeadm.k8s.io/')).map((d) => d.apiVersion));
  if (versions.size > 1) throw new KubeadmConfigError(`mixed kubeadm API versions in one file: ${[...versions].join(', ')}`);

  const cluster = byKind.ClusterConfiguration;
  if (cluster) {
    if (cluster.kubernetesVersion !== undefined) {
      const wanted = minorOf(String(cluster.kubernetesVersion));
      if (wanted > minor || wanted < minor - 1) {
        throw new KubeadmConfigError(`this version of kubeadm only supports deploying clusters with the control plane version >= 1.${minor - 1}.0. Current version: ${cluster.kubernetesVersion}`);
      }
    }
    for (const component of ['apiServer', 'controllerManager', 'scheduler']) checkControlPlaneComponent(cluster, component);
    checkDns(cluster);
    const net = cluster.networking || {};
    if (net.podSubnet !== undefined) checkCidr(net.podSubnet, 'networking.podSubnet');
    if (net.serviceSubnet !== undefined) checkCidr(net.serviceSubnet, 'networking.serviceSubnet');
  }
  if (command === 'join') {
    if (!byKind.JoinConfiguration) throw new KubeadmConfigError('no JoinConfiguration kind was found in the YAML file');
    checkDiscovery(byKind.JoinConfiguration);
    for (const kind of Object.keys(byKind)) if (kind !== 'JoinConfiguration') warnings.push(`W0000 [config] WARNING: Ignored YAML document with GroupVersionKind ${kind}`);
  } else if (byKind.JoinConfiguration) {
    throw new KubeadmConfigError('JoinConfiguration is only valid for kubeadm join');
  }
  for (const doc of docs) {
    const socket = doc.nodeRegistration && doc.nodeRegistration.criSocket;
    if (socket && minor >= 24 && socket.includes('dockershim')) {
      throw new KubeadmConfigError(`nodeRegistration.criSocket: Invalid value: "${socket}": dockershim was removed from the kubelet in 1.24; use containerd or cri-dockerd`);
    }
  }
  return { byKind, warnings, kubeletArgs: (doc) => kubeletArgs(doc) };
}

module.exports = { validateKubeadmConfig, KubeadmConfigError, kubeletArgs, minorOf, V1BETA3, V1BETA4 };
