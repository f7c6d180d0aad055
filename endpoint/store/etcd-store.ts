/**
 * The store for several stateless endpoint replicas: every key lives in etcd as PREFIX+KEY, so installations
 * can share one etcd cluster. etcd acknowledges a write only once a quorum has it on disk, which gives the
 * durability store.ts asks for; `create` and `update` are single etcd transactions, which gives atomicity
 * across replicas without any lock.
 *
 * etcd3 retries a call that failed with a network error on another endpoint (three attempts). For a
 * transaction whose reply was lost that replay can misreport: `create` may answer false for a key it wrote,
 * and `update` may apply `change` once more. Rare (an etcd member dying between commit and reply), and the
 * price of failing over between endpoints without a second dependency.
 */
import { Etcd3, EtcdAuthenticationFailedError, EtcdPermissionDeniedError, type IKeyValue, type Namespace } from 'etcd3';
import { UserError } from '../../contract/errors';
import { assertValidKey, assertValidPrefix, type Entry, type Store } from './store';

export interface EtcdStoreOptions {
  /** Client URLs, e.g. ["http://10.0.0.5:2379"]. */
  endpoints: string[];
  /** Prepended to every key; ends in "/" so that "lab/" and "lab2/" cannot see each other's keys. */
  prefix?: string;
  /** TLS to etcd (https:// endpoints): the CA etcd's certificate must chain to, and this client's certificate. */
  tls?: EtcdTlsOptions;
  /** etcd's own user and password (etcd's auth enabled). */
  auth?: { username: string; password: string };
}

export interface EtcdTlsOptions {
  /** PEM: the CA etcd's server certificate must chain to; only this one is trusted (not the system's). */
  ca: Buffer;
  /** PEM: this client's certificate chain and key, for an etcd started with --client-cert-auth. */
  cert?: Buffer;
  key?: Buffer;
}

export class EtcdStore implements Store {
  readonly description: string;
  private readonly client: Etcd3;
  private readonly kv: Namespace;

  constructor(private readonly options: EtcdStoreOptions) {
    const prefix = options.prefix ?? 'labimg/';
    if (options.endpoints.length === 0) throw new Error('etcd store needs at least one endpoint');
    if (!prefix.endsWith('/')) throw new Error(`etcd key prefix "${prefix}" must end in "/"`);
    this.description = `etcd at ${options.endpoints.join(', ')} (prefix ${prefix}${options.tls ? ', TLS' : ''}${options.auth ? `, user ${options.auth.username}` : ''})`;
    // etcd3 1.1.2's IOptions (node_modules/etcd3/lib/options.d.ts, read 2026-12-06): `credentials` goes to
    // grpc's credentials.createSsl(rootCertificate, privateKey, certChain), and without it an https:// host gets
    // createSsl() with the system's CAs (lib/connection-pool.js, buildAuthentication), which is why a CA is
    // always given here; `auth` trades username and password for a token with etcd's Auth.Authenticate.
    this.client = new Etcd3({
      hosts: options.endpoints,
      ...(options.tls ? { credentials: credentialsOf(options.tls) } : {}),
      ...(options.auth ? { auth: { username: options.auth.username, password: options.auth.password } } : {}),
    });
    this.kv = this.client.namespace(prefix);
  }

  async get(key: string): Promise<string | undefined> {
    assertValidKey(key);
    return (await this.read(key))?.value.toString('utf8');
  }

  async put(key: string, value: string): Promise<void> {
    assertValidKey(key);
    await this.call(() => this.kv.put(key).value(value).exec());
  }

  async create(key: string, value: string): Promise<boolean> {
    assertValidKey(key);
    // A key's create revision is 0 exactly when it does not exist (deleting it resets it too).
    const result = await this.call(() =>
      this.kv.if(key, 'Create', '==', 0).then(this.kv.put(key).value(value)).commit(),
    );
    return result.succeeded;
  }

  async update(key: string, change: (current: string | undefined) => string | undefined): Promise<string | undefined> {
    assertValidKey(key);
    let stored = await this.read(key);
    for (;;) {
      const current = stored?.value.toString('utf8');
      const next = change(current);
      if (next === undefined || next === current) return current;
      // Compare-and-swap on the mod revision we read (0 for an absent key). When another writer got there
      // first, the else branch hands back what it wrote, so the retry needs no extra round trip.
      const expected = stored?.mod_revision ?? 0;
      const result = await this.call(() =>
        this.kv.if(key, 'Mod', '==', expected).then(this.kv.put(key).value(next)).else(this.kv.get(key)).commit(),
      );
      if (result.succeeded) return next;
      stored = result.responses[0]?.response_range?.kvs[0];
    }
  }

  async list(prefix: string): Promise<Entry[]> {
    assertValidPrefix(prefix);
    const response = await this.call(() => this.kv.getAll().prefix(prefix).sort('Key', 'Ascend').exec());
    // The namespace has already stripped the store prefix from each key.
    return response.kvs.map((kv) => ({ key: kv.key.toString('utf8'), value: kv.value.toString('utf8') }));
  }

  async keys(prefix: string): Promise<string[]> {
    assertValidPrefix(prefix);
    // keysOnly: etcd sends no values (the namespace strips the store prefix, as for list).
    return this.call(() => this.kv.getAll().prefix(prefix).sort('Key', 'Ascend').keys());
  }

  async delete(key: string): Promise<void> {
    assertValidKey(key);
    await this.call(() => this.kv.delete().key(key).exec());
  }

  async close(): Promise<void> {
    this.client.close();
  }

  private async read(key: string): Promise<IKeyValue | undefined> {
    return (await this.call(() => this.kv.get(key).exec())).kvs[0];
  }

  /**
   * With a user, etcd3's first call trades the password for a token, and a failed handshake there reaches us as
   * "No connection established. Last error: null", without OpenSSL's reason. The same TLS without the user
   * tells: its handshake error, or (the handshake passing) anything else, which means TLS is not the problem.
   * Only ever run on a failure, never on the way of a request that works.
   */
  private async tlsHintWithoutAuth(error: unknown): Promise<string | undefined> {
    if (!this.options.auth || !this.options.tls || !/No connection established\. Last error: null/.test(error instanceof Error ? error.message : String(error))) return undefined;
    const probe = new Etcd3({ hosts: this.options.endpoints, credentials: credentialsOf(this.options.tls) });
    try {
      await probe.get('labimg-tls-probe').exec();
      return undefined;
    } catch (probeError) {
      return refusalHint(probeError, { ...this.options, auth: undefined });
    } finally {
      probe.close();
    }
  }

  /**
   * etcd3's errors name at most one host; an operator needs to know which endpoints this store tried. A refusal
   * of this client's TLS or credentials is the operator's to fix and will not pass by itself: it is a UserError
   * saying which flag to look at (EtcdRefused).
   */
  private async call<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const hint = refusalHint(error, this.options) ?? (await this.tlsHintWithoutAuth(error));
      if (hint !== undefined) throw Object.assign(new EtcdRefused(`${this.description}: ${hint} (etcd said: ${firstLine(message)})`), { cause: error });
      throw Object.assign(new Error(`${this.description}: ${message}`), { cause: error });
    }
  }
}

function credentialsOf(tls: EtcdTlsOptions): { rootCertificate: Buffer; privateKey?: Buffer; certChain?: Buffer } {
  return { rootCertificate: tls.ca, ...(tls.key ? { privateKey: tls.key } : {}), ...(tls.cert ? { certChain: tls.cert } : {}) };
}

/** etcd refused this client: a certificate, user or permission that is wrong now and will be wrong on retry. */
export class EtcdRefused extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'EtcdRefused';
  }
}

/**
 * What a refusal means in terms of labimg's flags. The texts matched are grpc-js's and OpenSSL's (a TLS alert
 * 42 "bad certificate" is etcd refusing the client's certificate, or the absence of one; "unable to verify" and
 * "self-signed" are this client refusing etcd's) and etcd3's error classes (lib/errors.d.ts), as seen against
 * etcd 3.4.23 here on 2026-12-06 (test/etcd-tls-auth.test.ts).
 */
function refusalHint(error: unknown, options: EtcdStoreOptions): string | undefined {
  const text = error instanceof Error ? error.message : String(error);
  if (error instanceof EtcdAuthenticationFailedError) return 'etcd refused the user name or password (--etcd-user, --etcd-password-file)';
  if (error instanceof EtcdPermissionDeniedError) {
    return options.auth
      ? `etcd's user ${options.auth.username} may not read and write the keys under ${options.prefix ?? 'labimg/'}: grant its role readwrite on that prefix`
      : "etcd has authentication on and this client gave no user: give --etcd-user and --etcd-password-file";
  }
  if (options.tls === undefined) return undefined;
  if (/unable to verify|self[- ]signed|unable to get (local )?issuer|certificate verify failed|Hostname\/IP does not match|altnames/i.test(text)) {
    return "etcd's certificate is not signed by the CA in --etcd-cacert, or does not name the host in the URL";
  }
  if (/alert bad certificate|alert certificate required|alert unknown ca|alert handshake failure|alert number 4[0-9]/i.test(text)) {
    return options.tls.cert
      ? 'etcd refused the client certificate in --etcd-cert: it wants one signed by the CA it trusts (its --trusted-ca-file)'
      : 'etcd wants a client certificate (it runs with --client-cert-auth): give --etcd-cert and --etcd-key';
  }
  return undefined;
}

function firstLine(text: string): string {
  return text.split('\n')[0]?.replace(/ Resolution note:.*$/, '').trim() ?? text;
}
