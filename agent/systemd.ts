/** systemd unit state, asked of systemctl itself (the only reliable source across distros). */
import type { Host } from './host/host';

export interface ServiceState {
  enabled: boolean;
  active: boolean;
}

export async function serviceState(host: Host, unit: string): Promise<ServiceState> {
  // `is-enabled` prints enabled/disabled/masked/static/...; "not found" units exit non-zero with nothing useful.
  const enabled = await host.query(['systemctl', 'is-enabled', unit]);
  const active = await host.query(['systemctl', 'is-active', unit]);
  return {
    enabled: enabled.code === 0 && enabled.stdout.trim() === 'enabled',
    active: active.code === 0 && active.stdout.trim() === 'active',
  };
}

export async function isActive(host: Host, unit: string): Promise<boolean> {
  return (await serviceState(host, unit)).active;
}

/** Restarts a unit so it reads a changed config file; a unit that is not running picks the file up on start. */
export async function restartIfActive(host: Host, unit: string): Promise<void> {
  if (await isActive(host, unit)) await host.run(['systemctl', 'restart', unit]);
}
