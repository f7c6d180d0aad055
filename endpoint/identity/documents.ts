/**
 * A cloud's signed instance identity document, verified and read into one shape for both clouds.
 *
 * A node that cannot carry an enrollment token in user-data presents what its cloud's metadata service signed
 * about it instead; the signature is checked against the certificate the cloud publishes (configured by the
 * operator; FACTS.md, "Instance identity documents"), and only then is the document's JSON read.
 *
 * Freshness is not decided here. AWS's document is made when the instance launches, stops and starts, or
 * restarts, and carries no nonce: the same signature verifies for as long as the instance runs, so the caller
 * must bound its reuse (one enrollment per instanceId, a window after launchedAt). Alibaba signs a caller-chosen
 * audience into the document, which the endpoint can make a single-use nonce.
 */
import { TextDecoder } from 'node:util';
import type { IdentityProvider } from '../../contract/agent-config';
import { IdentityRefused, verifySignedData } from './pkcs7';

export { IdentityRefused } from './pkcs7';
export type { IdentityProvider } from '../../contract/agent-config';

export interface InstanceIdentity {
  provider: IdentityProvider;
  accountId: string;
  region: string;
  instanceId: string;
  imageId?: string;
  instanceType?: string;
  /** AWS availabilityZone, Alibaba zone-id. */
  zone?: string;
  privateIp?: string;
  /** AWS pendingTime: when the instance was launched (ISO 8601, UTC). */
  launchedAt?: string;
  /** Alibaba only: the audience signed into the document, equal to the one the endpoint issued. */
  audience?: string;
  /** Every field of the signed document, as signed. */
  raw: Readonly<Record<string, unknown>>;
}

/** What an Alibaba identity needs besides its signature. */
export interface AliyunEvidence {
  /** The nonce the endpoint gave the node, which the node passed as `pkcs7?audience=`. */
  audience: string;
  /**
   * The plain document from `/latest/dynamic/instance-identity/document`, as served. Alibaba's documented
   * verification passes it to OpenSSL as detached content, so it is needed when the signature does not carry it.
   */
  document?: string;
}

/**
 * Verifies `signedDocument` (AWS: the `rsa2048` or `pkcs7` value; Alibaba: the `pkcs7?audience=` value) against
 * the configured certificates and returns the identity it vouches for. Throws IdentityRefused otherwise.
 */
export function verifyInstanceIdentity(
  provider: IdentityProvider,
  signedDocument: string,
  trustedCertificatesPem: readonly string[],
  evidence?: AliyunEvidence,
): InstanceIdentity {
  switch (provider) {
    case 'aws':
      if (evidence !== undefined) throw new IdentityRefused('an aws identity document is signed with its content and takes no audience');
      return awsIdentity(jsonObject(verifySignedData(signedDocument, trustedCertificatesPem, { signer: 'aws' }), 'aws'));
    case 'aliyun': {
      if (evidence === undefined) throw new IdentityRefused('an aliyun identity needs the audience this endpoint issued');
      assertAudience(evidence.audience);
      const detachedContent = evidence.document === undefined ? undefined : aliyunSignedContent(evidence.document, evidence.audience);
      const content = verifySignedData(signedDocument, trustedCertificatesPem, { signer: 'aliyun', ...(detachedContent ? { detachedContent } : {}) });
      return aliyunIdentity(jsonObject(content, 'aliyun'), evidence.audience);
    }
    default:
      throw new IdentityRefused(`unknown identity provider "${String(provider)}"`);
  }
}

// ---- AWS ----

/**
 * Field names from "Instance identity documents", https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instance-identity-documents.html
 * (also awsdocs/amazon-ec2-user-guide doc_source/instance-identity-documents.md), read 2026-12-05.
 */
function awsIdentity(doc: Record<string, unknown>): InstanceIdentity {
  const field = reader(doc, 'aws');
  const launchedAt = field.optional('pendingTime');
  if (launchedAt !== undefined && !isUtcTimestamp(launchedAt)) throw new IdentityRefused(`the aws identity document's pendingTime "${launchedAt}" is not a UTC timestamp`);
  return compact({
    provider: 'aws',
    accountId: field.required('accountId'),
    region: field.required('region'),
    instanceId: field.required('instanceId'),
    imageId: field.optional('imageId'),
    instanceType: field.optional('instanceType'),
    zone: field.optional('availabilityZone'),
    privateIp: field.optional('privateIp'),
    launchedAt,
    raw: doc,
  });
}

/** AWS writes pendingTime as "2016-11-19T16:32:11Z" (the documented example). */
function isUtcTimestamp(value: string): boolean {
  return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/.test(value) && !Number.isNaN(Date.parse(value));
}

// ---- Alibaba Cloud ----

/**
 * Field names from "Use instance identities", https://www.alibabacloud.com/help/en/ecs/user-guide/use-instance-identities
 * (owner-account-id, instance-id, mac, region-id, serial-number, zone-id, instance-type, image-id, private-ipv4),
 * read 2026-12-05. The same page's 2018–2021 editions (AlibabaCloudDocs/ecs on GitHub) named the account
 * `account-id` and the address `private-ip`; either spelling is read, and two that disagree are refused.
 */
function aliyunIdentity(doc: Record<string, unknown>, audience: string): InstanceIdentity {
  const field = reader(doc, 'aliyun');
  if (field.optional('audience') !== audience) throw new IdentityRefused('the signed audience is not the one this endpoint issued');
  const accountId = either(field, 'owner-account-id', 'account-id', 'aliyun');
  if (!accountId) throw new IdentityRefused('the aliyun identity document has no owner-account-id');
  return compact({
    provider: 'aliyun',
    accountId,
    region: field.required('region-id'),
    instanceId: field.required('instance-id'),
    imageId: field.optional('image-id'),
    instanceType: field.optional('instance-type'),
    zone: field.optional('zone-id'),
    privateIp: either(field, 'private-ipv4', 'private-ip', 'aliyun'),
    audience,
    raw: doc,
  });
}

/**
 * The bytes Alibaba signs when an audience is given: the document with `"audience":"<audience>"` appended as its
 * last member. Alibaba's script builds them as `echo -n ${document%?}${audience_json}` with
 * `audience_json=',"audience":"'${audience}'"}'` (the Chinese edition of the page; the English one has a stray
 * space between the two). `$(curl …)` drops the document's trailing newlines, so they are dropped here too.
 */
export function aliyunSignedContent(document: string, audience: string): Buffer {
  assertAudience(audience);
  const trimmed = document.replace(/[\r\n]+$/, '');
  if (!trimmed.startsWith('{') || !trimmed.endsWith('}')) throw new IdentityRefused('the aliyun identity document is not a JSON object');
  return Buffer.from(`${trimmed.slice(0, -1)},"audience":"${audience}"}`, 'utf8');
}

/**
 * The endpoint's own nonce, so a bad one is a bug here, not a refusal. URL-safe characters only: it travels in a
 * query string, and Alibaba splices it into JSON unescaped, so nothing in it may need escaping in either.
 */
function assertAudience(audience: string): void {
  if (!/^[A-Za-z0-9._~-]{1,256}$/.test(audience)) throw new RangeError('an audience must be 1 to 256 characters from A-Z a-z 0-9 . _ ~ -');
}

// ---- reading the JSON ----

const UTF8 = new TextDecoder('utf-8', { fatal: true });

function jsonObject(content: Buffer, provider: IdentityProvider): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(UTF8.decode(content));
  } catch (error) {
    throw new IdentityRefused(`the signed ${provider} identity document is not JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new IdentityRefused(`the signed ${provider} identity document is not a JSON object`);
  return parsed as Record<string, unknown>;
}

interface FieldReader {
  required(name: string): string;
  optional(name: string): string | undefined;
}

function reader(doc: Record<string, unknown>, provider: IdentityProvider): FieldReader {
  const optional = (name: string): string | undefined => {
    const value = Object.prototype.hasOwnProperty.call(doc, name) ? doc[name] : undefined;
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string') throw new IdentityRefused(`the ${provider} identity document's ${name} is not a string`);
    return value;
  };
  return {
    optional,
    required(name) {
      const value = optional(name);
      if (value === undefined || value === '') throw new IdentityRefused(`the ${provider} identity document has no ${name}`);
      return value;
    },
  };
}

/** A field documented under two names: whichever is present, and a refusal when both are and disagree. */
function either(field: FieldReader, current: string, former: string, provider: IdentityProvider): string | undefined {
  const a = field.optional(current);
  const b = field.optional(former);
  if (a !== undefined && b !== undefined && a !== b) throw new IdentityRefused(`the ${provider} identity document's ${current} and ${former} disagree`);
  return a ?? b;
}

/** Drops the optional fields that are undefined, so an identity has only the keys its document had. */
function compact(identity: InstanceIdentity): InstanceIdentity {
  return Object.fromEntries(Object.entries(identity).filter(([, value]) => value !== undefined)) as unknown as InstanceIdentity;
}
