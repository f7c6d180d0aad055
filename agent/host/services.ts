/**
 * The machine's services, which are systemd units on every OS the agent supports. systemctl is asked and told
 * through the host's own run/query, so a dry run records each call like any other command, and no step spells
 * a systemctl argv of its own.
 */
import type { Host, NowOption, ServiceManager, ServiceState } from './host';

export class Systemctl implements ServiceManager {
  readonly #host: Pick<Host, 'run' | 'query'>;

  constructor(host: Pick<Host, 'run' | 'query'>) {
    this.#host = host;
  }

  async state(unit: string): Promise<ServiceState> {
    // `is-enabled` prints enabled/disabled/masked/static/...; "not found" units exit non-zero with nothing useful.
    const enabled = await this.#host.query(['systemctl', 'is-enabled', unit]);
    const active = await this.#host.query(['systemctl', 'is-active', unit]);
    return {
      enabled: enabled.code === 0 && enabled.stdout.trim() === 'enabled',
      active: active.code === 0 && active.stdout.trim() === 'active',
    };
  }

  enable(unit: string, options: NowOption = {}): Promise<void> {
    return this.#systemctl('enable', ...now(options), unit);
  }

  disable(unit: string, options: NowOption = {}): Promise<void> {
    return this.#systemctl('disable', ...now(options), unit);
  }

  restart(unit: string): Promise<void> {
    return this.#systemctl('restart', unit);
  }

  async restartIfActive(unit: string): Promise<void> {
    if ((await this.state(unit)).active) await this.restart(unit);
  }

  daemonReload(): Promise<void> {
    return this.#systemctl('daemon-reload');
  }

  async #systemctl(...args: string[]): Promise<void> {
    await this.#host.run(['systemctl', ...args]);
  }
}

function now(options: NowOption): string[] {
  return options.now ? ['--now'] : [];
}
