/**
 * The NoCloud seed of one qemu bake: the CD (label "cidata") the build VM boots with, so that Packer can log
 * in. Cloud images have no password and take SSH keys only from their datasource, and Packer 1.6.6 cannot put
 * a key of its own on the seed (`cd_content` and `http_content` came later). So every bake gets a key pair
 * of its own, made by `labimg build --packer` just before `packer build` and deleted right after: nothing in
 * the repository or in a build folder lets anyone into a build VM, and a key that leaks from one bake opens
 * no other.
 */
import { generateKeyPairSync } from 'node:crypto';
import { textFile, type RenderedFile } from './types';

/** The seed folder's files, as the template names them (`${var.seed_dir}/…`). */
export const PACKER_SEED_FILES = { userData: 'user-data', metaData: 'meta-data', privateKey: 'build-key' } as const;

/** Comment of the public key and the build VM's instance id and host name: it says where a key came from. */
const BUILD_VM_NAME = 'labimg-packer-build';

export interface BuildKeyPair {
  /** SEC1 PEM ("EC PRIVATE KEY"): both Packer's Go SSH client and OpenSSH read it. */
  privateKeyPem: string;
  /** The public half as an authorized_keys line. */
  authorizedKey: string;
}

/** One SSH wire-format string: a uint32 length, then the bytes (RFC 4251 section 5). */
function sshString(bytes: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

/**
 * A fresh ECDSA P-256 key pair. Not ed25519: Node writes ed25519 private keys only as PKCS#8, which OpenSSH's
 * tools do not read. P-256 in SEC1 PEM works with Packer, ssh-keygen and every sshd a cloud image ships.
 */
export function newBuildKeyPair(): BuildKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const jwk = publicKey.export({ format: 'jwk' });
  // The public point, uncompressed: 0x04, then x and y (RFC 5656 section 3.1).
  const point = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x as string, 'base64url'), Buffer.from(jwk.y as string, 'base64url')]);
  const blob = Buffer.concat([sshString(Buffer.from('ecdsa-sha2-nistp256')), sshString(Buffer.from('nistp256')), sshString(point)]);
  return {
    privateKeyPem: privateKey.export({ type: 'sec1', format: 'pem' }) as string,
    authorizedKey: `ecdsa-sha2-nistp256 ${blob.toString('base64')} ${BUILD_VM_NAME}`,
  };
}

/**
 * The seed folder for one bake: user-data that authorizes the key for the image's default user, meta-data,
 * and the private key (0600) Packer logs in with. The seed CD is not part of the image, and the template's
 * cleanup removes cloud-init's copy of the seed and every authorized_keys file before the disk becomes one.
 */
export function renderPackerSeed(key: BuildKeyPair): RenderedFile[] {
  const userData = [
    '#cloud-config',
    '# NoCloud seed of one labimg qemu bake: lets Packer log in as the image\'s default user with this bake\'s key.',
    'ssh_authorized_keys:',
    `  - ${key.authorizedKey}`,
    '',
  ].join('\n');
  return [
    textFile(PACKER_SEED_FILES.userData, userData),
    textFile(PACKER_SEED_FILES.metaData, `instance-id: ${BUILD_VM_NAME}\nlocal-hostname: ${BUILD_VM_NAME}\n`),
    textFile(PACKER_SEED_FILES.privateKey, key.privateKeyPem, 0o600),
  ];
}
