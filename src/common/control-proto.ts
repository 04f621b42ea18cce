/**
 * The control plane's gRPC service (proto/gophership/control/v1/control.proto), turned into a
 * grpc-js service definition by protobufjs reflection, for the supervisor's server and for
 * gs-ctl's client alike. Field names keep the proto's snake_case, so `gs-ctl --json` prints
 * the messages as they are defined.
 */
import * as path from 'node:path';
import type { ServiceDefinition } from '@grpc/grpc-js';
import * as protobuf from 'protobufjs';

const PROTO_DIR = path.join(__dirname, '../../../proto');

const root = new protobuf.Root();
root.resolvePath = (_origin, target) => path.resolve(PROTO_DIR, target);
root.loadSync('gophership/control/v1/control.proto', { keepCase: true });

const SERVICE = 'gophership.control.v1.Control';
/** 64-bit counters as numbers: byte counts stay far below 2^53. */
const TO_OBJECT: protobuf.IConversionOptions = { longs: Number, defaults: true };

function codec(type: protobuf.Type): { serialize: (v: object) => Buffer; deserialize: (b: Buffer) => object } {
  return {
    serialize: (v) => Buffer.from(type.encode(type.fromObject(v)).finish()),
    deserialize: (b) => type.toObject(type.decode(b), TO_OBJECT),
  };
}

function serviceDefinition(): ServiceDefinition {
  const definition: Record<string, ServiceDefinition[string]> = {};
  for (const method of root.lookupService(SERVICE).methodsArray) {
    method.resolve();
    const request = codec(method.resolvedRequestType!);
    const response = codec(method.resolvedResponseType!);
    definition[method.name] = {
      path: `/${SERVICE}/${method.name}`,
      requestStream: false,
      responseStream: false,
      requestSerialize: request.serialize,
      requestDeserialize: request.deserialize,
      responseSerialize: response.serialize,
      responseDeserialize: response.deserialize,
      originalName: method.name,
    };
  }
  return definition;
}

export const CONTROL_SERVICE = serviceDefinition();

/** The RPC names, as the service definition and a generic client know them. */
export type ControlMethod = 'GetStatus' | 'SetZone' | 'StartReplay' | 'GetReplay' | 'StopReplay' | 'Drain';

export interface PressureInputsMessage {
  source: string;
  usage_bytes: number;
  limit_bytes: number;
  psi_some?: number;
  psi_full?: number;
  tree_rss_bytes: number;
  green_ring_fill: number;
  red_ring_fill: number;
}

export interface ZoneStatusMessage {
  zone: string;
  mode: string;
  since_ms: number;
  inputs: PressureInputsMessage;
  thresholds: { yellow: number; red: number; recover: number; ring_yellow: number; ring_red: number };
}

export interface ChildStatusMessage {
  name: string;
  role: string;
  index: number;
  pid: number;
  uptime_ms: number;
  restarts: number;
}

export interface RingStatusMessage {
  name: string;
  used_bytes: number;
  capacity_bytes: number;
}

export interface ReplayStatusMessage {
  state: 'idle' | 'running' | 'done' | 'stopped' | 'failed';
  records: number;
  bytes: number;
  cursor: number;
  records_per_second: number;
  elapsed_ms: number;
  error: string;
}

export interface ExporterStatusMessage {
  name: string;
  backlog_bytes: number;
  last_error: string;
  last_error_ms: number;
}

export interface EngineStatusMessage {
  version: string;
  pid: number;
  uptime_ms: number;
  zone?: ZoneStatusMessage | null;
  zone_error: string;
  children: ChildStatusMessage[];
  rings: RingStatusMessage[];
  vault: { dir: string; bytes: number; records: number };
  replay: ReplayStatusMessage;
  exporters: ExporterStatusMessage[];
  draining: boolean;
  memory: MemoryStatusMessage;
}

export interface MemoryStatusMessage {
  limit_bytes: number;
  limit_source: string;
  fraction: number;
  budget_bytes: number;
  plan_bytes: number;
  parts: { part: string; bytes: number }[];
  sizes: { key: string; value: number; source: string }[];
  usage_bytes: number;
  tree_rss_bytes: number;
  ring_used_bytes: number;
}

export interface DrainReportMessage {
  ring_bytes_left: number;
  rings: RingStatusMessage[];
  took_ms: number;
}
