import path from 'node:path';

/** One problem in a profile, pointing at the place in a file where the offending value was written. */
export interface Finding {
  /** The file as a person would type it: relative to the working directory when inside it. */
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
  /** Dotted field path, e.g. `kubernetes.podSubnet` or `host.sysctls["net.ipv4.ip_forward"]`; empty for the whole file. */
  path: string;
  message: string;
}

/** A position in a profile file. */
export interface Location {
  file: string;
  line: number;
  column: number;
}

/** One step into a profile document: a field name or a list index. */
export type PathSegment = string | number;

const PLAIN_KEY = /^[A-Za-z0-9_-]+$/;

/** `["host", "sysctls", "net.ipv4.ip_forward"]` → `host.sysctls["net.ipv4.ip_forward"]`; indexes as `[0]`. */
export function formatPath(segments: readonly PathSegment[]): string {
  let text = '';
  for (const segment of segments) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else if (PLAIN_KEY.test(segment)) text += text === '' ? segment : `.${segment}`;
    else text += `[${JSON.stringify(segment)}]`;
  }
  return text;
}

/** How findings name a file: short and clickable from the directory the command ran in. */
export function displayPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
}

export function findingAt(location: Location, segments: readonly PathSegment[], message: string): Finding {
  return { file: location.file, line: location.line, column: location.column, path: formatPath(segments), message };
}

function compareFindings(a: Finding, b: Finding): number {
  if (a.file !== b.file) return a.file < b.file ? -1 : 1;
  return a.line - b.line || a.column - b.column || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
}

/** Sorted by file and position, duplicates (the same problem reached twice) removed. */
export function sortFindings(findings: readonly Finding[]): Finding[] {
  const seen = new Set<string>();
  return [...findings].sort(compareFindings).filter((finding) => {
    const key = `${finding.file}:${finding.line}:${finding.column}:${finding.path}:${finding.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** `profiles/x.yaml:12:3: kubernetes.podSubnet: expected …`, one finding per line, the format editors and CI annotate. */
export function formatFindings(findings: readonly Finding[]): string {
  return findings
    .map((finding) => {
      const where = `${finding.file}:${finding.line}:${finding.column}`;
      return finding.path === '' ? `${where}: ${finding.message}` : `${where}: ${finding.path}: ${finding.message}`;
    })
    .join('\n');
}

/** Everything wrong with a file labimg reads (a profile, the PXE group file), found in one run. */
export class FindingsError extends Error {
  readonly findings: Finding[];

  constructor(findings: readonly Finding[]) {
    const sorted = sortFindings(findings);
    super(formatFindings(sorted));
    this.name = 'FindingsError';
    this.findings = sorted;
  }
}

/** Everything wrong with a profile. */
export class ProfileError extends FindingsError {
  constructor(findings: readonly Finding[]) {
    super(findings);
    this.name = 'ProfileError';
  }
}
