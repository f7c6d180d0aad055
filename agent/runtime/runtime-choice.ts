/** Which OCI runtime a container runtime starts containers with by default. */
export type DefaultRuntime = { name: 'runc' } | { name: 'nvidia'; binary: string };

export const RUNC: DefaultRuntime = { name: 'runc' };
