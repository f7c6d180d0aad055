'use strict';
/**
 * What the kubeadm stand-in knows of kubeadm's config API: which apiVersion/kind pairs a given kubeadm release
 * accepts, how it decodes each document (every field at every level, from the tables in kubeadm-types.js),
 * and the values it validates. validateKubeadmConfig() throws a KubeadmConfigError with kubeadm's message.
 *
 * Decoding follows Go's encoding/json as forked in sigs.k8s.io/json (what k8s.io/apimachinery's serializer
 * uses): keys match JSON tags case-sensitively; a value of the wrong JSON type is
 * `json: cannot unmarshal <kind> into Go struct field <Struct>.<path> of type <GoType>` (fatal in kubeadm:
 * runtime.DecodeInto fails); unknown fields are strict errors, all collected and reported as
 * `strict decoding error: unknown field "<full.dotted[0].path>", ...`.
 *
 * Unknown fields, and how strict this stand-in is about them: kubeadm init and join (1.22 through 1.35, see
 * documentMapToInitConfiguration in cmd/kubeadm/app/util/config/initconfiguration.go, commit
 * 77647cdfc3ef0f2e22de53c1a7b8f10574e55cea) run strict.VerifyUnmarshalStrict with strictErrors=false: they
 * print the strict decoding error as a klog warning, then decode leniently and drop the field. `kubeadm config
 * validate` and `kubeadm config migrate` run the same check with strictErrors=true and fail. This stand-in
 * prints kubeadm's warning and then fails like `kubeadm config validate`: a field kubeadm drops is a setting
 * that silently never took effect, which is a bug in whatever wrote the file.
 */
const net = require('net');
const yaml = require('js-yaml');
const { SCALARS, KINDS } = require('./kubeadm-types');

class KubeadmConfigError extends Error {
  /** warnings: lines kubeadm prints (klog) before failing. */
  constructor(message, warnings = []) {
    super(message);
    this.warnings = warnings;
  }
}

const V1BETA3 = 'kubeadm.k8s.io/v1beta3';
const V1BETA4 = 'kubeadm.k8s.io/v1beta4';

// k8s.io/cluster-bootstrap/token/api/types.go: BootstrapTokenPattern = `\A([a-z0-9]{6})\.([a-z0-9]{16})\z`.
const TOKEN_PATTERN = '\\A([a-z0-9]{6})\\.([a-z0-9]{16})\\z';
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

function gvk(doc) {
  const [group, version] = String(doc.apiVersion).split('/');
  return `schema.GroupVersionKind{Group:"${group}", Version:"${version}", Kind:"${doc.kind}"}`;
}

// ---- decoding ---------------------------------------------------------------------------------------------

/** The JSON kind of a value after YAML→JSON, as Go's decoder names it in UnmarshalTypeError. */
function jsonKind(value) {
  if (typeof value === 'string' || value instanceof Date) return 'string';
  if (typeof value === 'number') return 'number';
  if (typeof value === 'boolean') return 'bool';
  if (Array.isArray(value)) return 'array';
  return 'object';
}

/** A Go type as reflect prints it: string, []string, map[string]string, v1beta3.APIEndpoint, v1.Taint... */
function goTypeName(type, pkg) {
  if (typeof type === 'string') return SCALARS[type].go;
  if (type.list) return `[]${goTypeName(type.list, pkg)}`;
  if (type.map) return `map[string]${goTypeName(type.map, pkg)}`;
  return `${type.pkg || pkg}.${type.struct}`;
}

// time.ParseDuration's grammar: an optional sign, then one or more decimal numbers each with a unit.
const GO_DURATION = /^[-+]?(0|((\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h))+)$/;
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/**
 * Decodes `value` into `type` as Go would. ctx: { pkg, strict: [] }; at: { path (with [i], for strict errors),
 * goPath (without indices, as Go's decoder tracks fields for type errors), struct (the enclosing Go struct) }.
 * Throws the first type error (Go saves the first UnmarshalTypeError and returns it); collects unknown fields.
 */
function decode(value, type, ctx, at) {
  // JSON null leaves a Go value as it was, whatever its type.
  if (value === null || value === undefined) return;
  const kind = jsonKind(value);
  const typeError = (what = kind) =>
    new KubeadmConfigError(`json: cannot unmarshal ${what} into Go struct field ${at.struct}.${at.goPath} of type ${goTypeName(type, ctx.pkg)}`);
  if (typeof type === 'string') {
    const scalar = SCALARS[type];
    // BootstrapTokenString.UnmarshalJSON strips the quotes off whatever it gets and matches the pattern
    // (bootstraptoken/v1/utils.go, NewBootstrapTokenString); its error is returned as is.
    if (scalar.bootstrapToken) {
      const token = String(value);
      if (!TOKEN.test(token)) throw new KubeadmConfigError(`the bootstrap token "${token}" was not of the form "${TOKEN_PATTERN}"`);
      return;
    }
    if (!scalar.json.includes(kind)) throw typeError();
    if (kind === 'number' && scalar.integer && (!Number.isInteger(value) || (scalar.unsigned && value < 0))) throw typeError(`number ${value}`);
    if (scalar.duration && !GO_DURATION.test(value)) throw new KubeadmConfigError(`time: invalid duration "${value}"`);
    if (scalar.rfc3339 && !(value instanceof Date) && !RFC3339.test(value)) {
      throw new KubeadmConfigError(`parsing time "${value}" as "2006-01-02T15:04:05Z07:00": cannot parse "${value}" as "2006"`);
    }
    return;
  }
  if (type.list) {
    if (kind !== 'array') throw typeError();
    value.forEach((item, i) => decode(item, type.list, ctx, { ...at, path: `${at.path}[${i}]` }));
    return;
  }
  if (kind !== 'object') throw typeError();
  if (type.map) {
    // Go does not add map keys to the field path of an error.
    for (const item of Object.values(value)) decode(item, type.map, ctx, at);
    return;
  }
  for (const [key, item] of Object.entries(value)) {
    const path = at.path ? `${at.path}.${key}` : key;
    const field = Object.prototype.hasOwnProperty.call(type.fields, key) ? type.fields[key] : undefined;
    if (field === undefined) {
      ctx.strict.push(`unknown field "${path}"`);
      continue;
    }
    decode(item, field, ctx, { path, goPath: at.goPath ? `${at.goPath}.${key}` : key, struct: type.struct });
  }
}

/** Decodes one document of a known kind; throws on a type error, on unknown fields (see the header). */
function decodeDocument(doc, type) {
  const ctx = { pkg: String(doc.apiVersion).split('/')[1], strict: [] };
  decode(doc, type, ctx, { path: '', goPath: '', struct: type.struct });
  if (ctx.strict.length > 0) {
    const message = `error unmarshaling configuration ${gvk(doc)}: strict decoding error: ${ctx.strict.join(', ')}`;
    // kubeadm init/join print this line (klog.Warning) and go on; `kubeadm config validate` fails with it.
    throw new KubeadmConfigError(message, [`W1205 10:00:00.000000    4242 initconfiguration.go:332] ${message}`]);
  }
}

// ---- values kubeadm validates ------------------------------------------------------------------------------

/** ValidateIPNetFromString (cmd/kubeadm/app/apis/kubeadm/validation): each comma-separated CIDR must parse. */
function checkCidr(value, field) {
  for (const part of String(value).split(',')) {
    const [ip, bits, ...rest] = part.trim().split('/');
    const family = net.isIP(ip || '');
    const max = family === 6 ? 128 : 32;
    const ok = family !== 0 && rest.length === 0 && /^\d{1,3}$/.test(bits || '') && Number(bits) <= max;
    if (!ok) throw new KubeadmConfigError(`${field}: Invalid value: "${value}": couldn't parse subnet`);
  }
}

/**
 * ValidateCertificateKey (kubeadm validation.go): hex, decoding to an AES-256 key (constants.CertificateKeySize
 * = 32 bytes). The hex errors are Go's encoding/hex ones.
 */
function checkCertificateKey(key, field) {
  if (key === undefined || key === '') return;
  const text = String(key);
  const bad = /[^0-9a-fA-F]/.exec(text);
  let problem;
  if (bad) problem = `encoding/hex: invalid byte: U+${bad[0].codePointAt(0).toString(16).toUpperCase().padStart(4, '0')} '${bad[0]}'`;
  else if (text.length % 2 === 1) problem = 'encoding/hex: odd length hex string';
  else if (text.length !== 64) problem = `invalid certificate key size ${text.length / 2}, the key must be an AES key of size 32`;
  if (problem) throw new KubeadmConfigError(`${field}: Invalid value: "${text}": ${problem}`);
}

function checkNodeRegistration(doc, path) {
  const reg = doc.nodeRegistration;
  if (reg === undefined || reg === null) return;
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
 * The documents of a config file as kubeadm reads them (SplitConfigDocuments, cmd/kubeadm/app/util/marshal.go, over
 * k8s.io/apimachinery pkg/util/yaml YAMLReader; read 2026-12-05): a "---" line ends the document before it when
 * that document has any bytes, and is skipped when it has none; what follows the last separator is a document
 * when it has any bytes. So a comment before the first "---" is a document of its own, with no kind.
 */
function yamlReaderDocuments(text) {
  const docs = [];
  let current = '';
  for (const line of text.split(/(?<=\n)/)) {
    if (/^---(\s*(#.*)?)?\r?\n?$/.test(line)) {
      if (current.length > 0) docs.push(current);
      current = '';
    } else {
      current += line;
    }
  }
  if (current.length > 0) docs.push(current);
  return docs;
}

/**
 * Parses and checks a kubeadm --config file for `command` ('init' | 'join' | 'images') run by kubeadm of
 * version `kubeadmVersion`. Returns the documents by kind.
 */
function validateKubeadmConfig(text, command, kubeadmVersion) {
  const docs = [];
  for (const part of yamlReaderDocuments(text)) {
    let doc;
    try {
      // loadAll: js-yaml's load() refuses a part of comments alone, which YAML reads as an empty document.
      doc = yaml.loadAll(part)[0];
    } catch (err) {
      throw new KubeadmConfigError(`error converting YAML to JSON: ${err.message}`);
    }
    // A document of comments or blank lines alone has no GroupVersionKind, which kubeadm refuses.
    if (doc === null || doc === undefined) throw new KubeadmConfigError('invalid configuration for GroupVersionKind /, Kind=: kind and apiVersion is mandatory information that must be specified');
    docs.push(doc);
  }
  const minor = minorOf(kubeadmVersion);
  const byKind = {};
  const warnings = [];
  const strictErrors = [];
  for (const doc of docs) {
    if (typeof doc !== 'object' || !doc.apiVersion || !doc.kind) throw new KubeadmConfigError('Object \'Kind\' is missing in the YAML document', warnings);
    if (String(doc.apiVersion).startsWith('kubeadm.k8s.io/')) checkApiVersion(doc.apiVersion, doc.kind, minor);
    const type = (KINDS[doc.apiVersion] || {})[doc.kind];
    if (!type) throw unknownKind(doc.apiVersion, doc.kind);
    try {
      decodeDocument(doc, type);
    } catch (err) {
      if (!(err instanceof KubeadmConfigError) || err.warnings.length === 0) throw err;
      // A strict decoding error: kubeadm warns and goes on decoding the other documents.
      warnings.push(...err.warnings);
      strictErrors.push(err.message);
    }
    if (byKind[doc.kind]) throw new KubeadmConfigError(`invalid configuration: kind "${doc.kind}" is specified twice in YAML file`, warnings);
    byKind[doc.kind] = doc;
  }
  if (strictErrors.length > 0) throw new KubeadmConfigError(strictErrors.join('\n'), warnings);
  const kubelet = byKind.KubeletConfiguration;
  if (kubelet && kubelet.cgroupDriver !== undefined && !['systemd', 'cgroupfs'].includes(kubelet.cgroupDriver)) {
    throw new KubeadmConfigError(`cgroupDriver: Invalid value: "${kubelet.cgroupDriver}": must be systemd or cgroupfs`);
  }
  for (const kind of ['InitConfiguration', 'JoinConfiguration']) if (byKind[kind]) checkNodeRegistration(byKind[kind], 'nodeRegistration');
  if (byKind.InitConfiguration) {
    checkCertificateKey(byKind.InitConfiguration.certificateKey, 'certificateKey');
  }
  if (byKind.JoinConfiguration && byKind.JoinConfiguration.controlPlane) {
    checkCertificateKey(byKind.JoinConfiguration.controlPlane.certificateKey, 'controlPlane.certificateKey');
  }
  // documentMapToInitConfiguration: a kubeadm kind other than Init/ClusterConfiguration is skipped with a warning.
  if (command !== 'join') {
    for (const kind of ['ResetConfiguration', 'UpgradeConfiguration']) {
      if (byKind[kind]) warnings.push(`W1205 10:00:00.000000    4242 initconfiguration.go:361] [config] WARNING: Ignored configuration document with GroupVersionKind ${byKind[kind].apiVersion}, Kind=${kind}`);
    }
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
    const networking = cluster.networking || {};
    if (networking.podSubnet) checkCidr(networking.podSubnet, 'networking.podSubnet');
    if (networking.serviceSubnet) checkCidr(networking.serviceSubnet, 'networking.serviceSubnet');
  }
  if (command === 'join') {
    if (!byKind.JoinConfiguration) throw new KubeadmConfigError('no JoinConfiguration kind was found in the YAML file');
    // kubeadm join reads only the JoinConfiguration (documentMapToJoinConfiguration skips the other kinds
    // without a word); the stand-in has decoded them all the same, above.
    checkDiscovery(byKind.JoinConfiguration);
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

module.exports = { validateKubeadmConfig, KubeadmConfigError, kubeletArgs, minorOf, V1BETA3, V1BETA4, TOKEN_PATTERN };
