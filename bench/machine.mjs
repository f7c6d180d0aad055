// The date and the machine a bench ran on, for the heading of the tables it prints: timings mean little without.
import { cpus, loadavg } from 'node:os';

/** "2026-12-05 on 2 cores (AMD EPYC …), Node v20.20.2, load 1.2 at the start". */
export function machineLine(now = new Date()) {
  const cores = cpus();
  const load = loadavg()[0].toFixed(1);
  return `${now.toISOString().slice(0, 10)} on ${cores.length} cores (${cores[0]?.model.trim() ?? 'unknown CPU'}), Node ${process.version}, load ${load} at the start`;
}
