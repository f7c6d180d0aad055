/**
 * What containerd and Docker share as the agent sees them: one config file the agent owns, in a runc and an
 * nvidia variant (the bake steps write runc; the GPU switch swaps in nvidia on GPU nodes), and how a changed
 * file reaches the running daemon.
 */
import type { AgentConfig, CriName } from '../../contract/agent-config';
import type { Host } from '../host/host';
import type { Daemon } from './daemon';
import { DefaultRuntime, nvidiaRuntime, RUNC } from './runtime-choice';

export interface ApplyOptions {
  /** Restart it even when it is stopped, so it runs with the new file now rather than whenever it is started. */
  start?: boolean;
}

export interface ContainerRuntime extends Daemon {
  readonly name: CriName;
  readonly configPath: string;
  /** The config file with `runtime` as the default OCI runtime. Throws when the profile has no settings for it. */
  renderConfig(config: AgentConfig, runtime: DefaultRuntime): string;
  /**
   * Every content the file may legitimately have: runc always; nvidia too when this runtime is the CRI of a GPU
   * profile. The bake steps accept either, so re-running them on a GPU node does not undo the switch.
   */
  acceptedConfigs(config: AgentConfig): string[];
  /** Writes the config file and has the daemon read it. */
  applyConfig(host: Host, content: string, options?: ApplyOptions): Promise<void>;
}

export interface ContainerRuntimeDefinition<Settings> {
  name: CriName;
  unit: string;
  configPath: string;
  /** This runtime's settings in the profile; undefined when the profile has none. */
  settings(config: AgentConfig): Settings | undefined;
  render(settings: Settings, runtime: DefaultRuntime): string;
}

export function containerRuntime<Settings>({ name, unit, configPath, settings, render }: ContainerRuntimeDefinition<Settings>): ContainerRuntime {
  const renderConfig = (config: AgentConfig, runtime: DefaultRuntime): string => {
    const found = settings(config);
    if (!found) throw new Error(`no ${name} settings in the agent config`);
    return render(found, runtime);
  };
  return {
    name,
    unit,
    configPath,
    startWhenEnabled: true,
    present: (config) => Boolean(settings(config)),
    renderConfig,
    acceptedConfigs(config) {
      const accepted = [renderConfig(config, RUNC)];
      const nvidia = nvidiaRuntime(config);
      if (nvidia && config.runtime.cri === name) accepted.push(renderConfig(config, nvidia));
      return accepted;
    },
    async applyConfig(host, content, options = {}) {
      await host.writeFile(configPath, content, 0o644);
      // A running daemon keeps its old settings until restarted; a stopped one reads the file when started.
      if (options.start) await host.services.restart(unit);
      else await host.services.restartIfActive(unit);
    },
  };
}
