/** Lab step 7: the container runtime packages (docker-ce + containerd.io on CentOS, containerd on Ubuntu). */
import { packageInstallStep } from './package-install-step';

export const installRuntime = packageInstallStep({
  id: 'install-runtime',
  title: 'Install container runtime packages',
  packages: (ctx) => ctx.config.runtime.packages,
});
