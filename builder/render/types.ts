/** A file a renderer produces. Renderers are pure; only the CLI writes files to disk. */
export interface RenderedFile {
  /** Path relative to the output directory. */
  name: string;
  content: Buffer;
  /** Unix mode the file should have where it lands on a node or on disk. */
  mode: number;
}

export type { NodeRuntime, NodeTarball } from '../profiles/types';

export function textFile(name: string, content: string, mode = 0o644): RenderedFile {
  return { name, content: Buffer.from(content, 'utf8'), mode };
}
