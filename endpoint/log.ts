/**
 * The endpoint logs one line per event to stdout, which systemd's journal (or the terminal) collects. Lines
 * carry names, addresses and statuses; never a header, a body, or anything else that could hold a secret.
 */
export interface EndpointLog {
  info(message: string): void;
  warn(message: string): void;
}

export function consoleLog(stream: NodeJS.WritableStream = process.stdout): EndpointLog {
  const line = (level: string, message: string) => stream.write(`${new Date().toISOString()} ${level} ${message.replace(/[\r\n]+/g, ' ')}\n`);
  return { info: (m) => line('info', m), warn: (m) => line('warn', m) };
}

export const silentLog: EndpointLog = { info: () => {}, warn: () => {} };
