/**
 * Reads a profile file into a tree that remembers where every key and value was written.
 *
 * js-yaml's event parser gives source offsets; the scalars are then constructed with the same YAML 1.2
 * core schema `load` uses, so `20.04` is a number and `"20.04"` a string exactly as in any other YAML
 * tool. The whole document is constructed first because that is what reports duplicate keys.
 */
import {
  COLLECTION_STYLE,
  constructFromEvents,
  EVENT_ID,
  parseEvents,
  SCALAR_STYLE,
  YAMLException,
  type Event,
  type ScalarEvent,
  type SequenceEvent,
} from 'js-yaml';
import type { Finding, Location } from './findings';

export type Scalar = string | number | boolean | null;

export interface ScalarNode {
  kind: 'scalar';
  at: Location;
  value: Scalar;
  /** The text as written, for messages ("quote it: "20.04""). */
  source: string;
}

export interface ListNode {
  kind: 'list';
  at: Location;
  items: SourceNode[];
}

export interface MapEntry {
  keyAt: Location;
  node: SourceNode;
}

export interface MapNode {
  kind: 'map';
  at: Location;
  entries: Map<string, MapEntry>;
}

export type SourceNode = ScalarNode | ListNode | MapNode;

export type ParseResult = { ok: true; root: SourceNode | undefined } | { ok: false; finding: Finding };

/** Offset → 1-based line and column. */
class LineIndex {
  private readonly starts: number[] = [0];

  constructor(text: string) {
    for (let i = 0; i < text.length; i++) if (text[i] === '\n') this.starts.push(i + 1);
  }

  locate(file: string, offset: number): Location {
    let low = 0;
    let high = this.starts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if ((this.starts[mid] ?? 0) <= offset) low = mid;
      else high = mid - 1;
    }
    return { file, line: low + 1, column: offset - (this.starts[low] ?? 0) + 1 };
  }
}

function syntaxFinding(file: string, error: unknown): Finding {
  if (error instanceof YAMLException) {
    return {
      file,
      line: (error.mark?.line ?? 0) + 1,
      column: (error.mark?.column ?? 0) + 1,
      path: '',
      message: `YAML syntax error: ${error.reason}`,
    };
  }
  return { file, line: 1, column: 1, path: '', message: `cannot read the file as YAML: ${(error as Error).message}` };
}

/**
 * The value of every scalar in the events of one document, as `load` constructs it: all of them at once, as the
 * items of one sequence in that document, so its tag directives apply to each. Constructed one at a time, each
 * wrapped in a document of its own, they cost js-yaml 5.5.0 about 20 µs apiece, a third of loading a profile
 * (measured 2026-12-05: centos.yaml's 129 scalars 8.8 ms one by one, 0.3 ms at once).
 * The sequence holds no alias, so the anchors the scalars carry change nothing here.
 */
function constructScalars(text: string, events: readonly Event[]): Map<ScalarEvent, Scalar> {
  const document = events[0] ?? { type: EVENT_ID.DOCUMENT, explicitStart: false, explicitEnd: false, directives: [] };
  const scalars = events.filter((event): event is ScalarEvent => event.type === EVENT_ID.SCALAR);
  const list: SequenceEvent = { type: EVENT_ID.SEQUENCE, start: 0, anchorStart: -1, anchorEnd: -1, tagStart: -1, tagEnd: -1, style: COLLECTION_STYLE.FLOW };
  const [values] = constructFromEvents([document, list, ...scalars, { type: EVENT_ID.POP }, { type: EVENT_ID.POP }], { source: text }) as [Scalar[]];
  return new Map(scalars.map((event, i) => [event, values[i] ?? null]));
}

/** Builds the located tree from a flat event stream. */
class TreeBuilder {
  private next = 0;
  private readonly anchors = new Map<string, SourceNode>();
  private readonly values: Map<ScalarEvent, Scalar>;

  constructor(
    private readonly text: string,
    private readonly file: string,
    private readonly lines: LineIndex,
    private readonly events: Event[],
  ) {
    this.values = constructScalars(text, events);
  }

  root(): SourceNode | undefined {
    const first = this.events[this.next];
    if (first?.type !== EVENT_ID.DOCUMENT) return undefined;
    this.next++;
    if (this.events[this.next]?.type === EVENT_ID.POP) return undefined;
    return this.node(undefined);
  }

  private at(offset: number): Location {
    return this.lines.locate(this.file, Math.max(offset, 0));
  }

  private scalar(event: ScalarEvent, fallback: Location | undefined): ScalarNode {
    const value = this.values.get(event);
    // Quoted scalars report the offset after the opening quote; point at the quote, where the value starts.
    const quoted = event.style === SCALAR_STYLE.SINGLE_QUOTED || event.style === SCALAR_STYLE.DOUBLE_QUOTED;
    const start = event.valueStart < 0 ? undefined : quoted ? event.valueStart - 1 : event.valueStart;
    return {
      kind: 'scalar',
      // An empty value (`key:`) has no offset of its own; it lives where its key is.
      at: start === undefined ? (fallback ?? this.at(0)) : this.at(start),
      value: value ?? null,
      source: event.valueStart < 0 ? '' : this.text.slice(event.valueStart, event.valueEnd),
    };
  }

  private remember(anchorStart: number, anchorEnd: number, node: SourceNode): SourceNode {
    if (anchorStart >= 0) this.anchors.set(this.text.slice(anchorStart, anchorEnd), node);
    return node;
  }

  private node(keyAt: Location | undefined): SourceNode {
    const event = this.events[this.next++];
    if (event === undefined) throw new Error('unexpected end of YAML events');
    switch (event.type) {
      case EVENT_ID.SCALAR:
        return this.remember(event.anchorStart, event.anchorEnd, this.scalar(event, keyAt));
      case EVENT_ID.ALIAS: {
        const target = this.anchors.get(this.text.slice(event.anchorStart, event.anchorEnd));
        if (!target) throw new Error('alias to an unknown anchor');
        return target;
      }
      case EVENT_ID.SEQUENCE: {
        const list: ListNode = { kind: 'list', at: this.at(event.start), items: [] };
        while (this.events[this.next]?.type !== EVENT_ID.POP) list.items.push(this.node(list.at));
        this.next++;
        return this.remember(event.anchorStart, event.anchorEnd, list);
      }
      case EVENT_ID.MAPPING: {
        const map: MapNode = { kind: 'map', at: this.at(event.start), entries: new Map() };
        while (this.events[this.next]?.type !== EVENT_ID.POP) {
          const key = this.node(undefined);
          const name = key.kind === 'scalar' ? String(key.value) : key.kind;
          map.entries.set(name, { keyAt: key.at, node: this.node(key.at) });
        }
        this.next++;
        return this.remember(event.anchorStart, event.anchorEnd, map);
      }
      default:
        throw new Error(`unexpected YAML event ${event.type}`);
    }
  }
}

/**
 * Parses one YAML document; a syntax error (with its line and column) is a finding, not an exception.
 * An empty file (or one of comments only) has no root.
 */
export function parseSource(text: string, file: string): ParseResult {
  let events: Event[];
  let documents: number;
  try {
    // What loadAll does, with the events kept, so the text is parsed once: loadAll is constructFromEvents over
    // parseEvents, the file name given to both (js-yaml 5.5.0, dist/js-yaml.mjs, loadDocuments; read 2026-12-05).
    events = parseEvents(text, { filename: file });
    documents = constructFromEvents(events, { filename: file, source: text }).length;
  } catch (error) {
    return { ok: false, finding: syntaxFinding(file, error) };
  }
  if (documents > 1) {
    return { ok: false, finding: { file, line: 1, column: 1, path: '', message: `expected one YAML document, found ${documents}: a profile is one file, one document` } };
  }
  return { ok: true, root: new TreeBuilder(text, file, new LineIndex(text), events).root() };
}
