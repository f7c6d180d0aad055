/**
 * The Kubernetes objects the agent writes for kubeadm and kubectl (kubeadm's configs, the RuntimeClass, Calico's
 * Installation, manifests whose images it moved), as a stream of JSON documents, each after a "---" line.
 *
 * JSON because both tools read YAML by converting it to JSON (sigs.k8s.io/yaml), so a JSON document is read
 * exactly as written, and the agent then needs no YAML writer: js-yaml's dumper was a fifth of the agent's bytes.
 * Every document starts with "---" (the first one then with the managed-file comment), never with "{": kubectl reads a
 * stream whose first non-space byte is "{" as one JSON stream, where "---" is an error
 * (k8s.io/apimachinery pkg/util/yaml/decoder.go, YAMLOrJSONDecoder and GuessJSONStream; read 2026-12-05);
 * otherwise it splits the stream at "---" lines and converts each document (YAMLReader, YAMLToJSON), as kubeadm
 * does (cmd/kubeadm/app/util/marshal.go, SplitConfigDocuments).
 */
import { managedHeader } from './managed-header';

export function manifestStream(documents: readonly unknown[]): string {
  // The comment goes inside the first document: before the first "---" it would be a document of its own, which
  // kubeadm refuses for having no kind (SplitConfigDocuments).
  return documents.map((document, i) => `---\n${i === 0 ? managedHeader() : ''}${JSON.stringify(document, null, 2)}\n`).join('');
}
