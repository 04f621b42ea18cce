/**
 * Where in a configuration file a ConfigError points: its messages name the key path
 * (`ingest.otlp_grpc.lisen`, `exporters[1].endpoint`), and the YAML document keeps the source
 * range of every node, so the path maps back to a line and column for the operator's editor.
 */
import { readFileSync } from 'node:fs';
import { LineCounter, isMap, isScalar, isSeq, parseDocument, type Node } from 'yaml';
import type { GopherShipError } from './errors';

/**
 * One line for an error of loadConfig: `GS_CONFIG_INVALID: FILE:LINE:COL: message`, the place
 * left out where the key is not in the file (a default out of range) or the file unreadable.
 */
export function describeConfigError(path: string | undefined, err: GopherShipError): string {
  let where = '';
  if (path !== undefined) {
    let text: string | undefined;
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      // The message already says the file cannot be read.
    }
    const at = text === undefined ? undefined : locateConfigKey(text, err.message);
    if (at !== undefined) where = `${path}:${at}: `;
  }
  return `${err.code}: ${where}${err.message}`;
}

/** `line:col` (both from 1) of the first key path in `message` that the file holds, or undefined. */
export function locateConfigKey(yamlText: string, message: string): string | undefined {
  const lines = new LineCounter();
  const doc = parseDocument(yamlText, { lineCounter: lines });
  if (doc.errors.length > 0) return undefined;
  // Dotted paths first: a bare word of the message ("key", "from") is rarely a key path.
  const candidates = [...new Set(message.match(/[A-Za-z_]\w*(?:\.\w+|\[\d+\])*/g) ?? [])].sort((a, b) => depth(b) - depth(a));
  for (const candidate of candidates) {
    const offset = offsetOf(doc.contents, candidate.split(/\.|(?=\[)/));
    if (offset !== undefined) {
      const { line, col } = lines.linePos(offset);
      return `${line}:${col}`;
    }
  }
  return undefined;
}

function depth(path: string): number {
  return path.split(/\.|\[/).length;
}

/** The offset of the key (or sequence item) the path ends at, or undefined if the file does not hold it. */
function offsetOf(node: Node | null, segments: string[]): number | undefined {
  let at: number | undefined;
  for (const segment of segments) {
    const index = /^\[(\d+)\]$/.exec(segment);
    if (index !== null) {
      if (!isSeq(node)) return undefined;
      node = (node.items[Number(index[1])] as Node | undefined) ?? null;
      at = node?.range?.[0];
    } else {
      if (!isMap(node)) return undefined;
      const pair = node.items.find((p) => isScalar(p.key) && p.key.value === segment);
      if (pair === undefined) return undefined;
      at = (pair.key as Node).range?.[0];
      node = pair.value as Node | null;
    }
    if (at === undefined) return undefined;
  }
  return at;
}
