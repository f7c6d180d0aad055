/**
 * Lab step 7b: containerd's config.toml — the mirrored pause image (sandbox_image), runc with
 * SystemdCgroup = true, runc as the default runtime, and certs.d for registry mirrors. Written whether or not
 * containerd is the CRI: Docker >= 20.10 runs its containers on it too.
 */
import { containerd } from '../runtime/containerd';
import { runtimeConfigStep } from './runtime-config-step';

export const containerdConfig = runtimeConfigStep('containerd-config', containerd);
