'use strict';
/**
 * What `kubectl create -f` / `kubectl get -f` do with a manifest, for the kubectl stand-ins of the agent tests
 * (test/fake-bin/kubectl) and of the end-to-end VMs (e2e/guest/kubectl.ts). Pure functions over a list of
 * recorded objects; the callers read the manifest and keep the list.
 *
 * Rules and messages, checked against kubectl v1.32.4 on 2026-12-05 (client-side validation, which is on by
 * default and runs before anything reaches the server), and from the sources read on 2026-12-05:
 * - a stream whose first non-space byte is "{" is one JSON document (YAMLOrJSONDecoder, GuessJSONStream), so a
 *   "---" in it does not parse; any other stream is YAML;
 * - the YAML stream is split into documents at "---" lines (k8s.io/apimachinery/pkg/util/yaml, YAMLReader);
 *   empty documents are skipped; none left: "error: no objects passed to create";
 * - a document that does not parse: "error: error parsing SRC: error converting YAML to JSON: yaml: ..."
 *   (the reason after "yaml: " is js-yaml's here, go-yaml's in kubectl);
 * - validation: "error: error validating "SRC": error validating data: [apiVersion not set, kind not set];
 *   if you choose to ignore these errors, turn validation off with --validate=false" (one of the two alone
 *   without the brackets; "invalid object to validate" for a document that is not a mapping);
 * - documents are visited in order and the first bad one stops the stream (k8s.io/cli-runtime
 *   pkg/resource/visitor.go, StreamVisitor.Visit returns its error): the objects before it are created;
 * - a kind the API server does not serve: "error: resource mapping not found for name: "N" namespace: "NS"
 *   from "SRC": no matches for kind "K" in version "V"" + "ensure CRDs are installed first"
 *   (kubectl/pkg/cmd/util/helpers.go); served kinds are the built-in groups below and what a created
 *   CustomResourceDefinition defines (spec.group, spec.names.kind, spec.versions[].served);
 * - an object that exists: "Error from server (AlreadyExists): error when creating "SRC": RESOURCE "N" already
 *   exists"; a namespaced object in a namespace that does not exist: "Error from server (NotFound): error when
 *   creating "SRC": namespaces "NS" not found" (the API server's NewAlreadyExists / NewNotFound, named by
 *   resource.group: k8s.io/apimachinery/pkg/api/errors);
 * - RESOURCE is the lower-case plural: the CRD's spec.names.plural, or for built-in kinds what
 *   k8s.io/apimachinery/pkg/api/meta UnsafeGuessKindToResource makes of the kind (s → ses, y → ies, + s);
 * - a document with an "items" field is a list (k8s.io/apimachinery pkg/apis/meta/v1/unstructured,
 *   unstructuredJSONScheme.decode): its items stand in its place (the builder's Flatten(), which create and get
 *   use), each item with neither kind nor apiVersion taking the list's apiVersion and its kind less "List"
 *   (decodeToList);
 * - `create --dry-run=client -o json -f SRC` reads and maps every document as create does, sends nothing, and
 *   prints each object with the namespace set on a namespaced one that has none (the builder's DefaultNamespace,
 *   SetNamespace) as k8s.io/cli-runtime pkg/printers/json.go JSONPrinter does: Go's json.MarshalIndent with four
 *   spaces and a newline after each object. An Unstructured object is a Go map, so its keys come out sorted
 *   (encoding/json sorts map keys), and Go escapes <, >, & and U+2028/U+2029 in strings (HTMLEscape).
 *   Mapping errors are create's, after the objects before them were printed; nothing reaches the server, so
 *   AlreadyExists and NotFound never happen (k8s.io/kubectl pkg/cmd/create/create.go, RunCreate).
 */
const yaml = require('js-yaml');

const VALIDATE_HINT = 'if you choose to ignore these errors, turn validation off with --validate=false';

// Built-in API groups/versions a v1.2x-1.3x API server serves (kubectl api-versions on a kubeadm cluster).
const BUILT_IN = new Set([
  'v1', 'apps/v1', 'batch/v1', 'autoscaling/v1', 'autoscaling/v2', 'policy/v1', 'rbac.authorization.k8s.io/v1',
  'apiextensions.k8s.io/v1', 'admissionregistration.k8s.io/v1', 'apiregistration.k8s.io/v1', 'networking.k8s.io/v1',
  'node.k8s.io/v1', 'scheduling.k8s.io/v1', 'storage.k8s.io/v1', 'coordination.k8s.io/v1', 'discovery.k8s.io/v1',
  'certificates.k8s.io/v1', 'events.k8s.io/v1', 'flowcontrol.apiserver.k8s.io/v1',
]);

// Built-in kinds that are not in a namespace.
const CLUSTER_SCOPED = new Set([
  'Namespace', 'Node', 'PersistentVolume', 'CustomResourceDefinition', 'ClusterRole', 'ClusterRoleBinding',
  'RuntimeClass', 'PriorityClass', 'StorageClass', 'CSIDriver', 'CSINode', 'ValidatingWebhookConfiguration',
  'MutatingWebhookConfiguration', 'APIService', 'IngressClass', 'CertificateSigningRequest', 'FlowSchema',
  'PriorityLevelConfiguration', 'VolumeAttachment',
]);

// Namespaces every kubeadm cluster starts with.
const INITIAL_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

/** The documents of a YAML stream, split as kubectl's YAMLReader does. */
function splitDocuments(text) {
  const docs = [];
  let current = [];
  for (const line of text.split('\n')) {
    if (/^---(\s.*)?$/.test(line.replace(/\r$/, ''))) {
      docs.push(current.join('\n'));
      current = [];
    } else {
      current.push(line);
    }
  }
  docs.push(current.join('\n'));
  return docs;
}

/** What is wrong with a parsed document for client-side validation; undefined when nothing. */
function validationError(doc) {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return 'invalid object to validate';
  const missing = [];
  if (typeof doc.apiVersion !== 'string' || doc.apiVersion === '') missing.push('apiVersion not set');
  if (typeof doc.kind !== 'string' || doc.kind === '') missing.push('kind not set');
  if (missing.length === 0) return undefined;
  return missing.length === 1 ? missing[0] : `[${missing.join(', ')}]`;
}

const groupOf = (apiVersion) => (apiVersion.includes('/') ? apiVersion.split('/')[0] : '');

/** k8s.io/apimachinery/pkg/api/meta UnsafeGuessKindToResource: the plural of a kind. */
function guessPlural(kind) {
  const singular = kind.toLowerCase();
  if (singular.endsWith('s')) return `${singular}es`;
  if (singular.endsWith('y')) return `${singular.slice(0, -1)}ies`;
  return `${singular}s`;
}

function crdFor(objects, apiVersion, kind) {
  const [group, version] = apiVersion.split('/');
  return objects.find(
    (o) =>
      o.kind === 'CustomResourceDefinition' &&
      o.manifest &&
      o.manifest.spec &&
      o.manifest.spec.group === group &&
      o.manifest.spec.names &&
      o.manifest.spec.names.kind === kind &&
      (o.manifest.spec.versions || []).some((v) => v.name === version && v.served !== false),
  );
}

/** How the API server names the object's resource in messages (resource.group), and whether it is namespaced. */
function resourceOf(objects, doc) {
  const group = groupOf(doc.apiVersion);
  if (BUILT_IN.has(doc.apiVersion)) {
    const plural = guessPlural(doc.kind);
    return { resource: group ? `${plural}.${group}` : plural, singular: doc.kind.toLowerCase() + (group ? `.${group}` : ''), namespaced: !CLUSTER_SCOPED.has(doc.kind) };
  }
  const crd = crdFor(objects, doc.apiVersion, doc.kind);
  if (!crd) return undefined;
  const names = crd.manifest.spec.names;
  return { resource: `${names.plural}.${group}`, singular: `${names.singular || doc.kind.toLowerCase()}.${group}`, namespaced: crd.manifest.spec.scope !== 'Cluster' };
}

function sameObject(a, b) {
  return a.kind === b.kind && a.name === b.name && (a.namespace || '') === (b.namespace || '');
}

/**
 * The manifest's documents, parsed and validated in order. Returns { docs, error }: the good documents before
 * the first bad one, and kubectl's message for that one.
 */
function readManifest(text, source) {
  const docs = [];
  // A stream whose first non-space byte is "{" is read as JSON, not split at "---" lines
  // (k8s.io/apimachinery pkg/util/yaml/decoder.go: YAMLOrJSONDecoder, GuessJSONStream, hasJSONPrefix).
  if (/^\s*\{/.test(text)) {
    let doc;
    try {
      doc = JSON.parse(text);
    } catch (err) {
      return { docs, error: `error: error parsing ${source}: json: ${err.message}` };
    }
    return validated([doc], source);
  }
  for (const part of splitDocuments(text)) {
    let doc;
    try {
      // loadAll: a part with only comments is an empty document, which load() refuses.
      doc = yaml.loadAll(part)[0];
    } catch (err) {
      return { docs, error: `error: error parsing ${source}: error converting YAML to JSON: yaml: ${err.reason || err.message}` };
    }
    if (doc === null || doc === undefined) continue;
    const { docs: good, error } = validated([doc], source);
    docs.push(...good);
    if (error) return { docs, error };
  }
  return { docs };
}

/** The documents, lists flattened, each validated: those before the first bad one, and its message. */
function validated(parsed, source) {
  const docs = [];
  for (const doc of parsed) {
    const problem = validationError(doc);
    if (problem) return { docs, error: `error: error validating "${source}": error validating data: ${problem}; ${VALIDATE_HINT}` };
    for (const item of flatten(doc)) {
      const itemProblem = validationError(item);
      if (itemProblem) return { docs, error: `error: error validating "${source}": error validating data: ${itemProblem}; ${VALIDATE_HINT}` };
      docs.push(item);
    }
  }
  return { docs };
}

/** A document as the builder's Flatten() leaves it: a list's items in its place, the document otherwise. */
function flatten(doc) {
  if (doc.items === undefined || doc.items === null) return [doc];
  if (!Array.isArray(doc.items)) return [doc];
  const itemKind = doc.kind.replace(/List$/, '');
  return doc.items.map((item) =>
    item && typeof item === 'object' && !item.kind && !item.apiVersion ? { ...item, apiVersion: doc.apiVersion, kind: itemKind } : item,
  );
}

/** The record kept for a created object: what the agent sent, whole, plus the fields tests look up. */
function record(doc, namespace, source) {
  const metadata = doc.metadata || {};
  return { apiVersion: doc.apiVersion, kind: doc.kind, name: metadata.name, namespace, spec: doc.spec, source, manifest: doc };
}

/**
 * `kubectl create -f SOURCE` of `text` against `objects` (changed in place). Returns { out, err, code }.
 */
function create(objects, text, source) {
  const { docs, error } = readManifest(text, source);
  let out = '';
  const errors = [];
  if (docs.length === 0 && !error) return { out, err: 'error: no objects passed to create\n', code: 1 };
  for (const doc of docs) {
    const metadata = doc.metadata || {};
    const resource = resourceOf(objects, doc);
    if (!resource) {
      errors.push(`error: resource mapping not found for name: "${metadata.name}" namespace: "${metadata.namespace || ''}" from "${source}": no matches for kind "${doc.kind}" in version "${doc.apiVersion}"\nensure CRDs are installed first`);
      continue;
    }
    const namespace = resource.namespaced ? metadata.namespace || 'default' : undefined;
    if (namespace && !INITIAL_NAMESPACES.includes(namespace) && !objects.some((o) => o.kind === 'Namespace' && o.name === namespace)) {
      errors.push(`Error from server (NotFound): error when creating "${source}": namespaces "${namespace}" not found`);
      continue;
    }
    const object = record(doc, namespace, source);
    if (objects.some((o) => sameObject(o, object))) {
      errors.push(`Error from server (AlreadyExists): error when creating "${source}": ${resource.resource} "${object.name}" already exists`);
      continue;
    }
    objects.push(object);
    out += `${resource.singular}/${object.name} created\n`;
  }
  if (error) errors.push(error);
  return { out, err: errors.map((e) => `${e}\n`).join(''), code: errors.length > 0 ? 1 : 0 };
}

/** `kubectl get -f SOURCE`: every object of the manifest must exist. Returns { out, err, code }. */
function get(objects, text, source) {
  const { docs, error } = readManifest(text, source);
  if (error) return { out: '', err: `${error}\n`, code: 1 };
  let out = '';
  const errors = [];
  for (const doc of docs) {
    const metadata = doc.metadata || {};
    const resource = resourceOf(objects, doc);
    if (!resource) {
      errors.push(`error: resource mapping not found for name: "${metadata.name}" namespace: "${metadata.namespace || ''}" from "${source}": no matches for kind "${doc.kind}" in version "${doc.apiVersion}"\nensure CRDs are installed first`);
      continue;
    }
    const wanted = { kind: doc.kind, name: metadata.name, namespace: resource.namespaced ? metadata.namespace || 'default' : undefined };
    if (!objects.some((o) => sameObject(o, wanted))) errors.push(`Error from server (NotFound): ${resource.resource} "${wanted.name}" not found`);
    else out += `${resource.singular}/${wanted.name}\n`;
  }
  return { out, err: errors.map((e) => `${e}\n`).join(''), code: errors.length > 0 ? 1 : 0 };
}

/** A string as Go's encoding/json writes it: JSON, with <, >, & and U+2028/U+2029 escaped (HTMLEscape). */
function goString(text) {
  return JSON.stringify(text).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** json.MarshalIndent(value, "", "    ") of a value decoded into Go maps and slices: keys sorted. */
function goJson(value, indent = '') {
  const inner = `${indent}    `;
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[\n${value.map((item) => inner + goJson(item, inner)).join(',\n')}\n${indent}]`;
  }
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value).sort();
    if (keys.length === 0) return '{}';
    return `{\n${keys.map((key) => `${inner}${goString(key)}: ${goJson(value[key], inner)}`).join(',\n')}\n${indent}}`;
  }
  return typeof value === 'string' ? goString(value) : JSON.stringify(value);
}

/** `kubectl create --dry-run=client -o json -f SOURCE` of `text` against `objects` (not changed). */
function dryRun(objects, text, source) {
  const { docs, error } = readManifest(text, source);
  if (docs.length === 0 && !error) return { out: '', err: 'error: no objects passed to create\n', code: 1 };
  let out = '';
  for (const doc of docs) {
    const metadata = doc.metadata || {};
    const resource = resourceOf(objects, doc);
    if (!resource) {
      const err = `error: resource mapping not found for name: "${metadata.name}" namespace: "${metadata.namespace || ''}" from "${source}": no matches for kind "${doc.kind}" in version "${doc.apiVersion}"\nensure CRDs are installed first\n`;
      return { out, err, code: 1 };
    }
    const printed = resource.namespaced && !metadata.namespace ? { ...doc, metadata: { ...metadata, namespace: 'default' } } : doc;
    out += `${goJson(printed)}\n`;
  }
  return error ? { out, err: `${error}\n`, code: 1 } : { out, err: '', code: 0 };
}

/** kubectl's message when the server of a URL answers 404 (create prefixes it with "error: "). */
function unreadableUrl(url) {
  return `unable to read URL "${url}", server reported 404 Not Found, status code=404`;
}

module.exports = { splitDocuments, readManifest, create, get, dryRun, goJson, unreadableUrl, guessPlural };
