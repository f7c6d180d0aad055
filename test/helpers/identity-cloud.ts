/**
 * A stand-in cloud that signs instance identity documents as AWS and Alibaba Cloud do (FACTS.md, "Instance
 * identity documents"): a PKCS#7 SignedData over the document, SHA-256 with RSA, the document embedded, signed
 * attributes contentType, signingTime and messageDigest, no certificates, served as bare base64. Its key and
 * self-signed certificate stand in for the certificate the cloud publishes, which the test configures with
 * `labimg pool identity --certificate`.
 *
 * Alibaba Cloud signs the document with the caller's audience spliced in before its closing brace, as its
 * documented check rebuilds it (`echo -n ${document%?}${audience_json}`, audience_json=',"audience":"…"}'):
 * https://help.aliyun.com/zh/ecs/user-guide/use-instance-identities, read 2026-12-05.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import forge from 'node-forge';

export interface StandInCloud {
  certPem: string;
  sign(content: string | Buffer): string;
}

const SHA256 = '2.16.840.1.101.3.4.2.1';

export function standInCloud(commonName = 'stand-in identity signer'): StandInCloud {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const key = forge.pki.privateKeyFromPem(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()) as forge.pki.rsa.PrivateKey;
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString());
  cert.serialNumber = `01${randomBytes(8).toString('hex')}`;
  cert.validity.notBefore = new Date('2018-02-23T01:29:38Z');
  cert.validity.notAfter = new Date('2195-01-17T08:59:12Z');
  cert.setSubject([{ name: 'commonName', value: commonName }]);
  cert.setIssuer([{ name: 'commonName', value: commonName }]);
  cert.sign(key, forge.md.sha256.create());
  return {
    certPem: forge.pki.certificateToPem(cert),
    sign(content) {
      const p7 = forge.pkcs7.createSignedData();
      p7.content = forge.util.createBuffer(Buffer.from(content).toString('binary'));
      p7.addSigner({
        key,
        certificate: cert,
        digestAlgorithm: SHA256,
        authenticatedAttributes: [
          { type: forge.pki.oids.contentType ?? '1.2.840.113549.1.9.3', value: forge.pki.oids.data },
          { type: forge.pki.oids.signingTime ?? '1.2.840.113549.1.9.5', value: new Date() as unknown as string },
          { type: forge.pki.oids.messageDigest ?? '1.2.840.113549.1.9.4' },
        ],
      });
      p7.sign({ detached: false });
      // The clouds send no certificates with the signature: the verifier has them by configuration.
      p7.certificates = [];
      return Buffer.from(forge.asn1.toDer(p7.toAsn1()).getBytes(), 'binary').toString('base64');
    },
  };
}

/** The bytes Alibaba Cloud signs for `document` with `audience`. */
export function aliyunSignedBytes(document: string, audience: string): string {
  return `${document.replace(/\s+$/, '').slice(0, -1)},"audience":"${audience}"}`;
}

/** An AWS instance identity document, as the metadata service serves it (pretty JSON, null for absent values). */
export function awsDocument(fields: { accountId: string; region: string; instanceId: string; imageId: string; pendingTime: string }): string {
  return JSON.stringify(
    {
      accountId: fields.accountId,
      architecture: 'x86_64',
      availabilityZone: `${fields.region}a`,
      billingProducts: null,
      devpayProductCodes: null,
      marketplaceProductCodes: null,
      imageId: fields.imageId,
      instanceId: fields.instanceId,
      instanceType: 'g5.xlarge',
      kernelId: null,
      pendingTime: fields.pendingTime,
      privateIp: '10.0.1.23',
      ramdiskId: null,
      region: fields.region,
      version: '2017-09-30',
    },
    null,
    2,
  ).replace(/": /g, '" : ');
}

/** An Alibaba Cloud instance identity document, compact JSON with its documented field names. */
export function aliyunDocument(fields: { accountId: string; region: string; instanceId: string; imageId: string }): string {
  return JSON.stringify({
    'zone-id': `${fields.region}-b`,
    'serial-number': '4acd2b47-b328-4762-852f-998a7d7f8bb0',
    'instance-id': fields.instanceId,
    'region-id': fields.region,
    'private-ipv4': '172.16.0.12',
    'owner-account-id': fields.accountId,
    mac: '00:16:3e:00:00:01',
    'image-id': fields.imageId,
    'instance-type': 'ecs.gn6i-c4g1.xlarge',
  });
}
