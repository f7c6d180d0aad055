/**
 * PXE over the endpoint: iPXE scripts and installer configs chosen by the MAC address a machine booted from,
 * and the installer kernels copied out of ISOs. Firmware iPXE speaks plain HTTP and trusts no private CA, so
 * these routes are also served on a plain-HTTP listener (`labimg serve --pxe-listen`), which serves nothing
 * else. What the routes hand out is decided by a PxeCatalog (the group file and the profiles, which the
 * builder knows); the endpoint adds the one secret, an enrollment token minted for that machine alone.
 *
 * The routes are in contract/endpoint-routes.ts; what a machine's folder holds:
 *
 *   GET /pxe/nodes/MAC/boot.ipxe         the install script, or "boot from disk" once the installer has said
 *                                        it finished (POST /pxe/nodes/MAC/installed) or the node has enrolled
 *   GET /pxe/nodes/MAC/kickstart.cfg     the installer config (kickstart, or user-data and meta-data for
 *   GET /pxe/nodes/MAC/user-data         autoinstall, or labimg-install.sh and preseed.cfg for debian-installer,
 *   GET /pxe/nodes/MAC/meta-data         or ignition.json for Flatcar's PXE image); the one file of them that
 *   GET /pxe/nodes/MAC/...               carries the node's config (the catalog says which) carries a pool
 *                                        machine's install token, the same for every fetch; none once the
 *                                        machine has enrolled
 */
import type { IncomingMessage } from 'node:http';
import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import type { PxeCatalog, PxeMachine, PxeRequestContext } from '../contract/pxe-catalog';
import { HttpError } from './http';
import type { EndpointLog } from './log';
import type { Registry } from './registry';
import { FileContent, type Content, type RouteRequest } from './routing';

/**
 * How long a machine's token lives: an install downloads an ISO or a package tree first, and the agent
 * enrolls on the installed system's first boot.
 */
export const PXE_TOKEN_TTL_MS = 4 * 3_600_000;

/**
 * One audit record per machine and install token per hour and endpoint process, however often its config is
 * fetched: anyone can fetch it (firmware iPXE has no credential), so a record per fetch would let anyone grow the
 * store. An install fetches its config once; a machine in a boot loop, or someone polling its MAC, shows as one
 * record an hour whose `repeats` counts the fetches between it and the one before. A new install token (a new
 * install) always has its record. Every fetch still has its line in the endpoint's log.
 */
export const PXE_AUDIT_WINDOW_MS = 3_600_000;

export class PxeRoutes {
  /**
   * Per MAC, when its latest config record was written, for which token, and the fetches since that have none.
   * Only MACs of the catalog get here (any other is a 404 first), so this holds one entry per machine of the group
   * file at most.
   */
  private readonly audited = new Map<string, { at: number; tokenId: string; unrecorded: number }>();

  constructor(
    private readonly catalog: PxeCatalog,
    private readonly registry: Registry,
    private readonly log: EndpointLog,
    /** The endpoint's HTTPS URL for a node that reached us at `host`, and the CA fingerprint. */
    private readonly endpointFor: (host: string) => { url: string; caFingerprint: string },
    private readonly clock: () => Date = () => new Date(),
  ) {}

  async chain(request: RouteRequest<'GET /pxe/boot.ipxe'>): Promise<Content> {
    return this.catalog.chainScript(pxeBaseOf(request.req));
  }

  async nodeFile(request: RouteRequest<'GET /pxe/nodes/:mac/:file'>): Promise<Content> {
    const { mac, file } = request.params;
    const machine = this.catalog.machine(mac);
    if (!machine) throw new HttpError(404, `no machine with MAC ${mac} in the PXE group file`);
    if (await this.installed(machine)) {
      if (file === 'boot.ipxe') {
        this.log.info(`PXE ${mac}: ${machine.node} is installed; boot it from its disk`);
        return this.catalog.localBootScript();
      }
      // Its installer config would carry an enrollment token: none is made for a machine that has enrolled.
      throw new HttpError(
        409,
        `machine ${mac} is installed (its installer finished, or node ${machine.node} has enrolled), so its install config is not served again; \`labimg nodes forget ${machine.node}\` before reinstalling it`,
      );
    }
    const host = hostOf(request.req);
    let tokenId: string | undefined;
    const context: PxeRequestContext = {
      pxeBase: pxeBaseOf(request.req),
      endpoint: this.endpointFor(host),
      enrollmentToken: async () => {
        if (!machine.pool) throw new Error(`machine ${machine.mac} has no pool to enroll into`);
        const { record, token } = await this.registry.machineToken(machine.pool, machine.node, machine.role, PXE_TOKEN_TTL_MS);
        tokenId = record.id;
        return token;
      },
    };
    const content = await this.catalog.nodeFile(machine, file, context);
    if (content === undefined) throw new HttpError(404, `the PXE folder of ${machine.profile} machines has no ${file}`);
    if (tokenId !== undefined) {
      await this.auditServed({ pool: machine.pool, node: machine.node, mac, tokenId, source: request.source });
      this.log.info(`PXE ${mac}: served ${file} for ${machine.role} ${machine.node} (pool ${machine.pool ?? '-'}) to ${request.source}`);
    }
    return content;
  }

  /** The audit record of a config served, unless this window has one of the machine and token (PXE_AUDIT_WINDOW_MS). */
  private async auditServed(served: { pool?: string; node: string; mac: string; tokenId: string; source: string }): Promise<void> {
    const now = this.clock().getTime();
    const last = this.audited.get(served.mac);
    if (last && last.tokenId === served.tokenId && now - last.at < PXE_AUDIT_WINDOW_MS && now >= last.at) {
      last.unrecorded += 1;
      return;
    }
    this.audited.set(served.mac, { at: now, tokenId: served.tokenId, unrecorded: 0 });
    const repeats = last?.unrecorded ?? 0;
    await this.registry.audit({ action: 'pxe-config-served', ...served, ...(repeats > 0 ? { repeats } : {}) });
  }

  /** The installer's word that it has finished, with the token of this machine's install. */
  async installFinished(request: RouteRequest<'POST /pxe/nodes/:mac/installed'>): Promise<void> {
    const { mac } = request.params;
    const machine = this.catalog.machine(mac);
    if (!machine) throw new HttpError(404, `no machine with MAC ${mac} in the PXE group file`);
    const token = request.caller;
    // A pool's token, or another machine's install token, ends no install: only the one minted for this machine.
    if (machine.pool === undefined || token.node !== machine.node || !(await this.registry.finishMachineInstall(machine.pool, machine.node, token.id))) {
      throw new HttpError(403, `that token is not the one of ${machine.node}'s current install`);
    }
    await this.registry.audit({ action: 'pxe-install-finished', pool: machine.pool, node: machine.node, mac, tokenId: token.id, source: request.source });
    this.log.info(`PXE ${mac}: the installer of ${machine.role} ${machine.node} has finished; it boots from its disk from now on`);
  }

  async asset(request: RouteRequest<'GET /pxe/assets/**'>): Promise<Content> {
    const root = this.catalog.assetsDir;
    if (root === undefined) throw new HttpError(404, 'this endpoint serves no PXE assets (labimg serve --pxe-assets DIR)');
    const relative = request.params.rest;
    // The path holds plain names only (the server refuses anything else); a link must still not lead out.
    try {
      const [base, target] = await Promise.all([realpath(root), realpath(path.join(root, relative))]);
      const found = await stat(target);
      if (!target.startsWith(base + path.sep) || !found.isFile()) throw new Error('outside');
      return new FileContent(target, found.size);
    } catch {
      throw new HttpError(404, `no PXE asset ${relative}`);
    }
  }

  /**
   * Whether the machine is installed, so that a PXE boot would reinstall it: its installer said it had finished,
   * or its node has enrolled.
   */
  private async installed(machine: PxeMachine): Promise<boolean> {
    const [node, install] = await Promise.all([this.registry.node(machine.node), this.registry.machineInstall(machine.node)]);
    if (node !== undefined && node.pool === machine.pool) return true;
    return install?.finishedAt !== undefined && install.pool === machine.pool;
  }
}

/** The host (name or address, no port) the machine used to reach us, from Host, else our own address. */
const HOST_HEADER = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:[0-9]{1,5})?$/;

function hostOf(req: IncomingMessage): string {
  const match = HOST_HEADER.exec(req.headers.host ?? '');
  if (match?.[1]) return match[1];
  const local = req.socket.localAddress ?? '127.0.0.1';
  return local.includes(':') ? `[${local}]` : local;
}

/**
 * The PXE base as the machine reached it: its Host header when it sent a sane one, else our address and port.
 * Its scheme is the listener's, so the scripts the plain-HTTP listener hands out name http:// for everything iPXE
 * fetches next (firmware iPXE has no HTTPS; see builder/render/pxe/layout.ts). Only an iPXE built to trust this
 * endpoint's own CA can reach /pxe/ over HTTPS, and it can follow https:// links too.
 */
function pxeBaseOf(req: IncomingMessage): string {
  const scheme = 'encrypted' in req.socket ? 'https' : 'http';
  const header = req.headers.host ?? '';
  const match = HOST_HEADER.exec(header);
  // A port past 65535 is no address: the scripts would name a URL nothing can fetch.
  const sane = match !== null && Number(match[2]?.slice(1) ?? 0) <= 65535;
  const authority = sane ? header : `${hostOf(req)}:${req.socket.localPort ?? 80}`;
  return `${scheme}://${authority}/pxe`;
}
