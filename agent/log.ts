/**
 * Log lines for the journal. The agent cannot load native modules (see the bundle rules), so instead of the
 * journald API it prints sd-daemon priority prefixes — `<6>` info, `<4>` warning, `<3>` err, `<7>` debug —
 * which systemd turns into journal priorities when the unit reads stdout.
 */
import { Redactor } from './redact';

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

const PRIORITY = { error: 3, warn: 4, info: 6, debug: 7 } as const;
type Level = keyof typeof PRIORITY;

export interface LoggerOptions {
  redactor: Redactor;
  /** Print debug lines (command output, skipped checks). */
  verbose: boolean;
  /** Where finished lines go; stdout by default. */
  write?: (line: string) => void;
}

export function createLogger(options: LoggerOptions): Logger {
  const write = options.write ?? ((line: string) => process.stdout.write(line));
  const emit = (level: Level, message: string): void => {
    if (level === 'debug' && !options.verbose) return;
    // Every physical line carries its own prefix, or journald would log continuation lines as info.
    const lines = options.redactor.redact(message).split('\n');
    write(lines.map((line) => `<${PRIORITY[level]}>${line}\n`).join(''));
  };
  return {
    debug: (m) => emit('debug', m),
    info: (m) => emit('info', m),
    warn: (m) => emit('warn', m),
    error: (m) => emit('error', m),
  };
}

/** A logger that drops everything: the dry run computes a plan and must stay silent. */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
