/**
 * The one request the load generator sends over and over: an ExportLogsServiceRequest that
 * looks like a real service's access log (varied ~200-byte bodies, a handful of typed
 * attributes, trace context, a resource with service.name), encoded once with the same
 * protobufjs types the exporter decodes with, and framed once as a gRPC message. Encoding
 * per request would make the generator, not the receiver, the thing being measured.
 */
import { ExportLogsServiceRequest } from '../src/common/otlp-proto';

export interface Payload {
  /** 5-byte gRPC header (uncompressed, length) followed by the serialized request. */
  frame: Buffer;
  /** Serialized request bytes, without the gRPC header: what the receiver counts. */
  messageBytes: number;
  records: number;
}

const SEVERITY_INFO = 9;
const SEVERITY_WARN = 13;
const ROUTES = ['/api/v1/orders', '/api/v1/orders/{id}', '/api/v1/cart', '/api/v1/users/{id}', '/healthz'];
const METHODS = ['GET', 'POST', 'PUT', 'DELETE'];
const BODY_BYTES = 200;

export function buildPayload(records: number): Payload {
  const random = seededRandom(0x9e3779b9);
  const nowNs = BigInt(Date.now()) * 1_000_000n;
  const logRecords = [];
  for (let i = 0; i < records; i++) {
    const status = random() < 0.95 ? 200 : 503;
    const method = METHODS[Math.floor(random() * METHODS.length)];
    const route = ROUTES[Math.floor(random() * ROUTES.length)];
    const durationMs = Math.round(random() * 250_000) / 1000;
    const timeNs = nowNs + BigInt(i) * 1000n;
    logRecords.push({
      timeUnixNano: timeNs.toString(),
      observedTimeUnixNano: (timeNs + 150_000n).toString(),
      severityNumber: status === 200 ? SEVERITY_INFO : SEVERITY_WARN,
      severityText: status === 200 ? 'INFO' : 'WARN',
      body: { stringValue: body(method, route, status, durationMs, random) },
      attributes: [
        { key: 'http.request.method', value: { stringValue: method } },
        { key: 'http.route', value: { stringValue: route } },
        { key: 'http.response.status_code', value: { intValue: status } },
        { key: 'duration_ms', value: { doubleValue: durationMs } },
        { key: 'user.id', value: { stringValue: `u-${Math.floor(random() * 1e6)}` } },
      ],
      traceId: randomBytes(16, random),
      spanId: randomBytes(8, random),
      flags: 1,
    });
  }
  const request = ExportLogsServiceRequest.fromObject({
    resourceLogs: [
      {
        resource: {
          attributes: [
            { key: 'service.name', value: { stringValue: 'checkout' } },
            { key: 'service.version', value: { stringValue: '2.14.3' } },
            { key: 'host.name', value: { stringValue: 'checkout-7d9f8b6c5-x2k4q' } },
            { key: 'deployment.environment.name', value: { stringValue: 'production' } },
          ],
        },
        scopeLogs: [{ scope: { name: 'com.example.checkout.http', version: '1.0.0' }, logRecords }],
      },
    ],
  });
  const message = ExportLogsServiceRequest.encode(request).finish();
  const frame = Buffer.alloc(5 + message.byteLength);
  frame.writeUInt8(0, 0);
  frame.writeUInt32BE(message.byteLength, 1);
  frame.set(message, 5);
  return { frame, messageBytes: message.byteLength, records };
}

/** An access-log line padded with request details to about BODY_BYTES characters. */
function body(method: string, route: string, status: number, durationMs: number, random: () => number): string {
  const head = `${method} ${route} ${status} ${durationMs}ms client=10.${Math.floor(random() * 256)}.${Math.floor(random() * 256)}.${Math.floor(random() * 256)}`;
  let text = `${head} ua="Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36" req=`;
  while (text.length < BODY_BYTES) text += Math.floor(random() * 36 ** 6).toString(36);
  return text.slice(0, BODY_BYTES);
}

function randomBytes(n: number, random: () => number): Buffer {
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(random() * 256);
  return out;
}

/** Deterministic (mulberry32): every run sends the same records, only the timestamps move. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
