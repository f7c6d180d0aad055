/**
 * Debian's Chromium, headless, driven over the Chrome DevTools Protocol on its --remote-debugging-pipe: file
 * descriptor 3 carries our commands to it and 4 its answers and events, each message JSON ended by a NUL byte
 * (chromium's content/browser/devtools/devtools_pipe_handler.cc, read 2026-12-06). No WebSocket, no package.
 *
 * Methods used (https://chromedevtools.github.io/devtools-protocol/, read 2026-12-06): Target.createTarget and
 * Target.attachToTarget with flatten (one session per page, its messages tagged with its sessionId),
 * Page.enable/navigate/loadEventFired/captureScreenshot, Runtime.evaluate, Emulation.setDeviceMetricsOverride.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate, createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';

export const CHROMIUM = '/usr/bin/chromium';

interface Message {
  id?: number;
  method?: string;
  params?: Record<string, unknown>;
  result?: Record<string, unknown>;
  error?: { message: string };
  sessionId?: string;
}

/** The base64 SHA-256 of a certificate's SubjectPublicKeyInfo, as --ignore-certificate-errors-spki-list takes it. */
export function spkiHash(certPem: string): string {
  const spki = new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('base64');
}

export class Browser {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (m: Message) => void; reject: (e: Error) => void }>();
  private readonly listeners = new Set<(m: Message) => void>();
  private stderr = '';

  private constructor(private readonly child: ChildProcess, private readonly profileDir: string) {
    const input = child.stdio[4] as Readable;
    let buffered = Buffer.alloc(0);
    input.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      for (let end = buffered.indexOf(0); end >= 0; end = buffered.indexOf(0)) {
        const message = JSON.parse(buffered.subarray(0, end).toString('utf8')) as Message;
        buffered = buffered.subarray(end + 1);
        this.dispatch(message);
      }
    });
    child.stderr?.on('data', (chunk) => (this.stderr = (this.stderr + String(chunk)).slice(-4000)));
    child.once('exit', () => {
      for (const { reject } of this.pending.values()) reject(new Error(`chromium exited:\n${this.stderr}`));
      this.pending.clear();
    });
  }

  /**
   * Starts Chromium with a fresh profile. `trustSpki` makes it take the test endpoint's certificate (pinned by its
   * key, not by switching certificate checks off).
   */
  static launch(options: { trustSpki: string[]; width: number; height: number }): Browser {
    const profileDir = mkdtempSync(path.join(os.tmpdir(), 'labimg-chromium-'));
    const child = spawn(
      CHROMIUM,
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--no-first-run',
        '--disable-extensions',
        '--remote-debugging-pipe',
        `--user-data-dir=${profileDir}`,
        `--window-size=${options.width},${options.height}`,
        `--ignore-certificate-errors-spki-list=${options.trustSpki.join(',')}`,
        'about:blank',
      ],
      { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] },
    );
    return new Browser(child, profileDir);
  }

  private dispatch(message: Message): void {
    if (message.id !== undefined) {
      const waiter = this.pending.get(message.id);
      this.pending.delete(message.id);
      if (message.error) waiter?.reject(new Error(message.error.message));
      else waiter?.resolve(message);
      return;
    }
    for (const listener of this.listeners) listener(message);
  }

  send(method: string, params: Record<string, unknown> = {}, sessionId?: string, timeoutMs = 60_000): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    const output = this.child.stdio[3] as Writable;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${method}: no answer from chromium within ${timeoutMs} ms\n${this.stderr}`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m.result ?? {});
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      output.write(`${JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) })}\0`);
    });
  }

  /** The next event `method` of `sessionId` that `match` accepts. */
  waitForEvent(method: string, sessionId: string, timeoutMs = 60_000, match: (params: Record<string, unknown>) => boolean = () => true): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const listener = (m: Message) => {
        if (m.method !== method || m.sessionId !== sessionId || !match(m.params ?? {})) return;
        this.listeners.delete(listener);
        clearTimeout(timer);
        resolve(m.params ?? {});
      };
      const timer = setTimeout(() => {
        this.listeners.delete(listener);
        reject(new Error(`no ${method} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.listeners.add(listener);
    });
  }

  async newPage(width: number, height: number): Promise<Page> {
    const { targetId } = (await this.send('Target.createTarget', { url: 'about:blank' })) as { targetId: string };
    const { sessionId } = (await this.send('Target.attachToTarget', { targetId, flatten: true })) as { sessionId: string };
    await this.send('Page.enable', {}, sessionId);
    await this.send('Runtime.enable', {}, sessionId);
    await this.send('Emulation.setDeviceMetricsOverride', { width, height, deviceScaleFactor: 1, mobile: false }, sessionId);
    return new Page(this, sessionId);
  }

  async close(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise((resolve) => this.child.once('exit', resolve));
      this.child.kill('SIGTERM');
      await exited;
    }
    // Chromium's helper processes (its crash handler among them) outlive the browser by a moment and may still
    // write into the profile: rmSync retries on ENOTEMPTY and EBUSY (Node doc/api/fs.md, fs.rmSync maxRetries).
    rmSync(this.profileDir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  }
}

export class Page {
  constructor(private readonly browser: Browser, readonly sessionId: string) {}

  /** Navigates and resolves once the page's load event fired. */
  async goto(url: string, timeoutMs = 60_000): Promise<void> {
    const loaded = this.browser.waitForEvent('Page.loadEventFired', this.sessionId, timeoutMs);
    const { errorText } = (await this.browser.send('Page.navigate', { url }, this.sessionId)) as { errorText?: string };
    if (errorText) throw new Error(`${url}: ${errorText}`);
    await loaded;
  }

  /** The value of `expression` in the page (awaited when it is a promise), as JSON. */
  async evaluate<T>(expression: string): Promise<T> {
    const answer = (await this.browser.send('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true }, this.sessionId)) as {
      result: { value?: T };
      exceptionDetails?: { text: string; exception?: { description?: string } };
    };
    if (answer.exceptionDetails) throw new Error(`${expression}: ${answer.exceptionDetails.exception?.description ?? answer.exceptionDetails.text}`);
    return answer.result.value as T;
  }

  /** Polls `expression` until it is truthy; its last value otherwise, after `timeoutMs`. */
  async waitFor<T>(expression: string, timeoutMs = 60_000): Promise<T> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const value = await this.evaluate<T>(expression);
      if (value || Date.now() > until) return value;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  /** A PNG of the viewport, written to `file`. */
  async screenshot(file: string): Promise<void> {
    const { data } = (await this.browser.send('Page.captureScreenshot', { format: 'png' }, this.sessionId)) as { data: string };
    writeFileSync(file, Buffer.from(data, 'base64'));
  }
}
