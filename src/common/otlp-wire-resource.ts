/**
 * Adds attributes to the Resource of every ResourceLogs in a serialized
 * ExportLogsServiceRequest by splicing bytes: the walk reads only the request's top level,
 * each ResourceLogs' own fields and each Resource's attribute keys; scope logs and log
 * records are copied as opaque ranges, unknown fields included. Only the length prefixes of
 * the edited ResourceLogs and Resource change.
 *
 * The result decodes to what protobufjs would produce by decoding, appending the missing
 * attributes to `resource.attributes` (after removing the ones replaced, with `override`)
 * and encoding again; and for a canonically encoded input (fields in number order, no
 * unknown fields) it is the same bytes, because new attributes are written right after the
 * last existing one. test/otlp-wire-resource.test.ts checks both on random requests.
 */
import { Field, WireCursor, WireType, lenFieldSize, writeLenHeader } from './otlp-wire';

export interface SpliceAttribute {
  /** UTF-8 bytes of the key, compared with the keys already in a Resource. */
  readonly key: Uint8Array;
  /** The whole Resource.attributes field: tag, length and the encoded KeyValue. */
  readonly field: Uint8Array;
}

interface ResourceField {
  fieldStart: number;
  start: number;
  end: number;
  /** Pairs of [start, end) of attribute fields to drop (override). */
  removed: number[];
  /** Where new attributes go: after the last attribute field, or at the start. */
  insertAt: number;
}

/** Collects the output as pieces (views of the input and small headers) and concatenates once. */
class Pieces {
  readonly list: Uint8Array[] = [];
  size = 0;

  push(piece: Uint8Array): void {
    if (piece.byteLength === 0) return;
    this.list.push(piece);
    this.size += piece.byteLength;
  }

  lenHeader(field: number, bodyBytes: number): void {
    const header = Buffer.allocUnsafe(lenFieldSize(field, 0) + 5);
    this.push(header.subarray(0, writeLenHeader(header, 0, field, bodyBytes)));
  }
}

export class ResourceSplicer {
  private readonly present: boolean[];

  constructor(
    private readonly attributes: readonly SpliceAttribute[],
    /** Replace attributes the Resource already has instead of keeping them. */
    private readonly override: boolean,
  ) {
    this.present = attributes.map(() => false);
  }

  /**
   * Returns the edited request, or `request` itself when no ResourceLogs needed a change.
   * Throws PoisonRecordError when the walked layers are not valid protobuf.
   */
  splice(request: Uint8Array): Uint8Array {
    const pieces: Uint8Array[] = [];
    const size = this.splicePieces(request, pieces);
    return pieces.length === 1 ? pieces[0] : Buffer.concat(pieces, size);
  }

  /**
   * The edited request as pieces to be written one after the other (views of `request` and
   * small new headers), appended to `out`; returns their total size. Lets a caller copy
   * several edited requests into one buffer of its own with no intermediate copy.
   */
  splicePieces(request: Uint8Array, out: Uint8Array[]): number {
    const edited = this.edit(request);
    if (edited === null) {
      out.push(request);
      return request.byteLength;
    }
    for (const piece of edited.list) out.push(piece);
    return edited.size;
  }

  private edit(request: Uint8Array): Pieces | null {
    if (this.attributes.length === 0) return null;
    const top = new WireCursor(request, 0, request.byteLength);
    const out = new Pieces();
    let copyFrom = 0;
    while (top.next()) {
      if (top.field !== Field.ResourceLogs || top.type !== WireType.Len) continue;
      const { fieldStart, start, end } = top;
      const body = new Pieces();
      if (!this.spliceResourceLogs(request, start, end, body)) continue;
      out.push(request.subarray(copyFrom, fieldStart));
      out.lenHeader(Field.ResourceLogs, body.size);
      for (const piece of body.list) out.push(piece);
      copyFrom = end;
    }
    if (copyFrom === 0) return null;
    out.push(request.subarray(copyFrom));
    return out;
  }

  /** Writes the new ResourceLogs body into `out`; false (and nothing written) when unchanged. */
  private spliceResourceLogs(buf: Uint8Array, start: number, end: number, out: Pieces): boolean {
    const resources: ResourceField[] = [];
    const rl = new WireCursor(buf, start, end);
    while (rl.next()) {
      if (rl.field === Field.Resource && rl.type === WireType.Len) {
        resources.push({ fieldStart: rl.fieldStart, start: rl.start, end: rl.end, removed: [], insertAt: rl.start });
      }
    }
    const present = this.present;
    present.fill(false);
    for (const resource of resources) this.scanAttributes(buf, resource);

    const added: Uint8Array[] = [];
    let addedBytes = 0;
    for (let i = 0; i < this.attributes.length; i++) {
      if (present[i] && !this.override) continue;
      added.push(this.attributes[i].field);
      addedBytes += this.attributes[i].field.byteLength;
    }
    if (added.length === 0 && resources.every((r) => r.removed.length === 0)) return false;

    if (resources.length === 0) {
      // Field 1 first, where an encoder in field-number order puts it.
      out.lenHeader(Field.Resource, addedBytes);
      for (const piece of added) out.push(piece);
      out.push(buf.subarray(start, end));
      return true;
    }
    // Repeated occurrences of a message field merge, their attribute lists concatenating:
    // the new attributes go into the last one only.
    const last = resources[resources.length - 1];
    let copyFrom = start;
    for (const resource of resources) {
      const inserted = resource === last ? added : [];
      if (inserted.length === 0 && resource.removed.length === 0) continue;
      out.push(buf.subarray(copyFrom, resource.fieldStart));
      const body = new Pieces();
      let from = resource.start;
      for (let i = 0; i < resource.removed.length; i += 2) {
        body.push(buf.subarray(from, resource.removed[i]));
        from = resource.removed[i + 1];
      }
      body.push(buf.subarray(from, resource.insertAt));
      for (const piece of inserted) body.push(piece);
      body.push(buf.subarray(resource.insertAt, resource.end));
      out.lenHeader(Field.Resource, body.size);
      for (const piece of body.list) out.push(piece);
      copyFrom = resource.end;
    }
    out.push(buf.subarray(copyFrom, end));
    return true;
  }

  private scanAttributes(buf: Uint8Array, resource: ResourceField): void {
    const cursor = new WireCursor(buf, resource.start, resource.end);
    while (cursor.next()) {
      if (cursor.field !== Field.ResourceAttributes || cursor.type !== WireType.Len) continue;
      resource.insertAt = cursor.pos;
      const match = this.matchKey(buf, cursor.start, cursor.end);
      if (match < 0) continue;
      this.present[match] = true;
      if (this.override) resource.removed.push(cursor.fieldStart, cursor.pos);
    }
  }

  /** Index of our attribute whose key the KeyValue in [start, end) has, or -1. */
  private matchKey(buf: Uint8Array, start: number, end: number): number {
    const kv = new WireCursor(buf, start, end);
    let keyStart = 0;
    let keyEnd = 0;
    // A repeated scalar field's last occurrence wins.
    while (kv.next()) {
      if (kv.field === Field.Key && kv.type === WireType.Len) {
        keyStart = kv.start;
        keyEnd = kv.end;
      }
    }
    const length = keyEnd - keyStart;
    for (let i = 0; i < this.attributes.length; i++) {
      const key = this.attributes[i].key;
      if (key.byteLength !== length) continue;
      let j = 0;
      while (j < length && key[j] === buf[keyStart + j]) j++;
      if (j === length) return i;
    }
    return -1;
  }
}
