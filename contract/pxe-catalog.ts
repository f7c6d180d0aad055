/**
 * What the join endpoint serves under /pxe/, as the builder decides it: the endpoint (endpoint/pxe.ts) routes
 * requests and mints each machine's token; the catalog (builder/pxe-catalog.ts), which knows profiles and
 * renderers, says which machine a MAC is and renders its files.
 */
import type { Role } from './agent-config';

/** One machine of the group file. */
export interface PxeMachine {
  /** As iPXE's ${netX/mac:hexhyp} spells it: 52-54-00-12-34-56. */
  mac: string;
  /** The node name it installs as (its host name, and its Kubernetes node name). */
  node: string;
  profile: string;
  role: Role;
  /** The pool it enrolls into; without one the node joins by itself or not at all. */
  pool?: string;
}

export interface PxeRequestContext {
  /** The PXE base as this machine reached it: http://HOST:PORT/pxe. */
  pxeBase: string;
  /** Where the installed node reaches the endpoint, and the CA it pins. */
  endpoint: { url: string; caFingerprint: string };
  /** A token that enrolls this machine alone; minted when called, so only for the file that carries it. */
  enrollmentToken(): Promise<string>;
}

/** What the endpoint serves under /pxe/; made by the builder, which knows profiles and renderers. */
export interface PxeCatalog {
  machine(mac: string): PxeMachine | undefined;
  chainScript(pxeBase: string): string;
  localBootScript(): string;
  /** One file of the machine's folder, or undefined when its folder has no file of that name. */
  nodeFile(machine: PxeMachine, name: string, context: PxeRequestContext): Promise<Buffer | undefined>;
  /** The folder /pxe/assets/ serves, when there is one. */
  assetsDir?: string;
}
