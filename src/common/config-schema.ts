/**
 * The configuration file's schema: every key, its type, bounds, default and meaning, once.
 * The TypeScript types of the configuration (config.ts) are inferred from it, the file is
 * parsed by it, and the reference tables of docs/configuration.md are generated from it
 * (scripts/config-docs.ts). What one key cannot decide alone (the memory plan, ring fit,
 * zone order, TLS files, plaintext listeners) is checked in config.ts after it.
 *
 * Conventions: a YAML null (`key:` with nothing after it) means the default; every section is
 * strict (an unknown key is an error naming the nearest known one); an issue's message is the
 * expected form, which config.ts frames as "Expected ... for KEY but received ...", and after
 * a `|` a hint that goes after it (the other written forms a key accepts).
 */
import { z } from 'zod';
import { formatListen, parseAddress, parseGrpcEndpoint, type ListenAddress } from './listen-address';
import { formatDuration, formatSize, nearestKey, parseDuration, parseSize } from './config-units';
import { DEFAULT_PLAN_FRACTION } from './memory-plan';
import { ZONE_MODES } from './zone-cell';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
const HOUR_MS = 3_600_000;

/** What the docs table shows for a key: its meaning, and, where code derives the default, how. */
export interface KeyDoc {
  description: string;
  /** The default as the docs state it, where it is not a constant of the schema. */
  default?: string;
  /** The type column, set by the helpers below from their bounds. */
  type?: string;
  /** Documented as one row; its keys are documented elsewhere (a TLS section). */
  leaf?: boolean;
  /** How a default value is written in the docs. */
  unit?: 'size' | 'duration';
}

const nullish = (v: unknown): unknown => (v === null ? undefined : v);

function finish<T extends z.ZodType>(inner: T, dflt: unknown, doc: KeyDoc): z.ZodType {
  // prefault: the default goes through the schema too (a default address is parsed like a written one).
  return z.preprocess(nullish, dflt === undefined ? inner.optional() : inner.prefault(dflt as never)).meta({ ...doc });
}

type Opt<T, D> = D extends undefined ? T | undefined : T;

export function int<D extends number | undefined>(min: number, max: number, dflt: D, doc: KeyDoc): z.ZodType<Opt<number, D>> {
  const expected = `an integer from ${min} to ${max}`;
  return finish(z.number({ error: expected }).int().min(min).max(max), dflt, { type: `integer ${min}–${max}`, ...doc }) as z.ZodType<Opt<number, D>>;
}

function fraction(min: number, max: number, dflt: number, doc: KeyDoc): z.ZodType<number> {
  return finish(z.number({ error: `a number from ${min} to ${max}` }).min(min).max(max), dflt, { type: `number ${min}–${max}`, ...doc }) as z.ZodType<number>;
}

/** Bytes: an integer, or a string with a unit (`64MiB`, `512Ki`, `1G`). */
function size<D extends number | undefined>(min: number, max: number, dflt: D, doc: KeyDoc, rule?: { test: (n: number) => boolean; expected: string; type: string }): z.ZodType<Opt<number, D>> {
  const expected = `an integer from ${min} to ${max}|(${rule === undefined ? '' : `${rule.expected}; `}bytes, or a size with a unit: 64MiB, 512Ki, 1G)`;
  let inner: z.ZodType<number> = z.number({ error: expected }).int().min(min).max(max);
  if (rule !== undefined) inner = inner.refine(rule.test, { error: expected });
  const parsed = z.preprocess((v) => (typeof v === 'string' ? (parseSize(v) ?? v) : v), inner);
  const spaced = (n: number): string => formatSize(n).replace(/(\d)([A-Z])/, '$1 $2');
  const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${spaced(min)}` : `${spaced(min)}–${spaced(max)}`;
  const type = `size ${range}${rule === undefined ? '' : `, ${rule.type}`}`;
  return finish(parsed, dflt, { type, unit: 'size', ...doc }) as z.ZodType<Opt<number, D>>;
}

/** Milliseconds: an integer, or a string with a unit (`250ms`, `30s`, `2m`, `1h`). */
function duration<D extends number | undefined>(min: number, max: number, dflt: D, doc: KeyDoc): z.ZodType<Opt<number, D>> {
  const expected = `an integer from ${min} to ${max}|(milliseconds, or a duration: 250ms, 30s, 2m)`;
  const parsed = z.preprocess((v) => (typeof v === 'string' ? (parseDuration(v) ?? v) : v), z.number({ error: expected }).int().min(min).max(max));
  return finish(parsed, dflt, { type: `duration ${formatDuration(min)}–${formatDuration(max)}`, unit: 'duration', ...doc }) as z.ZodType<Opt<number, D>>;
}

function bool(dflt: boolean, doc: KeyDoc): z.ZodType<boolean> {
  return finish(z.boolean({ error: 'true or false' }), dflt, { type: 'boolean', ...doc }) as z.ZodType<boolean>;
}

function oneOf<const T extends readonly [string, ...string[]]>(values: T, dflt: T[number] | undefined, doc: KeyDoc): z.ZodType<T[number]> {
  return finish(z.enum(values, { error: `one of ${values.join(', ')}` }), dflt, { type: values.map((v) => `\`${v}\``).join(' \\| '), ...doc }) as z.ZodType<T[number]>;
}

/** A non-empty string, optional: the default (under data_dir, say) is decided in config.ts. */
function text<D extends string | undefined>(dflt: D, doc: KeyDoc): z.ZodType<Opt<string, D>> {
  return finish(z.string({ error: 'a non-empty string' }).min(1), dflt, { type: 'string', ...doc }) as z.ZodType<Opt<string, D>>;
}

function path<D extends string | undefined>(dflt: D, doc: KeyDoc): z.ZodType<Opt<string, D>> {
  return text(dflt, { type: 'path', ...doc });
}

const ADDRESS_FORMS = '"host:port" (IPv6 as "[::1]:4317") or "unix:PATH"';

function address(expected: string, tcpOnly = false): z.ZodType<ListenAddress> {
  return z.string({ error: expected }).transform((s, ctx) => {
    const a = parseAddress(s);
    if (a === undefined || (tcpOnly && a.kind !== 'tcp')) ctx.issues.push({ code: 'custom', message: expected, input: s });
    return a as ListenAddress;
  });
}

function tcpAddress(expected: string): z.ZodType<ListenAddress & { kind: 'tcp' }> {
  return address(expected, true) as z.ZodType<ListenAddress & { kind: 'tcp' }>;
}

/** A list of addresses; one written as a scalar is a list of one. */
function listenList(dflt: string, doc: KeyDoc): z.ZodType<ListenAddress[] | undefined> {
  const list = z.array(address(ADDRESS_FORMS), { error: `a list of ${ADDRESS_FORMS}` });
  return finish(z.preprocess((v) => (typeof v === 'string' ? [v] : v), list), undefined, { type: 'list of `host:port`, `[v6]:port`, `unix:PATH` (one may be written without brackets)', default: dflt, ...doc }) as z.ZodType<ListenAddress[] | undefined>;
}

/** A mapping whose unknown keys are refused with the nearest known one named. */
function strict<S extends z.ZodRawShape>(shape: S) {
  const known = Object.keys(shape);
  return z.strictObject(shape, {
    error: (iss) => (iss.code === 'unrecognized_keys' ? unknownKeyHint(iss.keys, known) : 'a mapping'),
  });
}

/** A section that may be left out: its keys take their defaults. */
function section<S extends z.ZodRawShape>(shape: S, doc?: KeyDoc) {
  return z.preprocess(nullish, strict(shape).prefault({} as never)).meta({ type: 'mapping', ...doc });
}

/** A section that is absent unless given (a TLS section, the TCP control listener). */
function optionalSection<S extends z.ZodRawShape>(shape: S, doc: KeyDoc) {
  return z.preprocess(nullish, strict(shape).optional()).meta({ type: 'mapping', ...doc });
}

/** The message of an unknown key: the allowed keys, and the likely one meant. config.ts prefixes the key path. */
function unknownKeyHint(keys: readonly string[], known: readonly string[]): string {
  const near = nearestKey(keys[0], known);
  return `(allowed here: ${known.join(', ')})${near === undefined ? '' : `; did you mean ${near}?`}`;
}

function mapping<V extends z.ZodType>(value: (expected: string) => V, expected: string, dflt: Record<string, z.output<V>>, doc: KeyDoc) {
  return finish(z.record(z.string(), value(expected), { error: expected }), dflt, doc) as z.ZodType<Record<string, z.output<V>>>;
}

/** The `tls` section of a listener. Its files are checked for readability in tls-config.ts. */
function listenerTls(doc: KeyDoc) {
  return optionalSection(
    {
      cert: path(undefined, { description: "Server certificate chain, PEM." }),
      key: path(undefined, { description: "Its private key, PEM. Never logged." }),
      ca: path(undefined, { description: "CA bundle, PEM, that client certificates are verified against." }),
      client_auth: oneOf(['require', 'request', 'none'], undefined, { description: "`require`: a client without a valid certificate from `ca` is refused at the handshake. `request`: a certificate is asked for, and one that does not verify is refused, but a client may send none. `require` and `request` need `ca`.", default: "`require` when `ca` is set, else `none`" }),
      // YAML reads 1.3 as a number; both spellings mean the same.
      min_version: finish(z.preprocess((v) => (typeof v === 'number' ? String(v) : v), z.enum(['1.3', '1.2'], { error: 'one of 1.3, 1.2' })), undefined, { type: '`"1.3"` \\| `"1.2"`', default: '`"1.3"`', ...{ description: "Oldest TLS version accepted. 1.2 only when set here explicitly." } }) as z.ZodType<'1.3' | '1.2' | undefined>,
    },
    { type: '[TLS section](#tls-sections)', default: 'none (plaintext)', leaf: true, ...doc },
  );
}

/** The keys every TLS section reads; the docs' "TLS sections" table is made from it. */
export const tlsSectionSchema = listenerTls({ description: '' });

const insecure = (doc: KeyDoc) => bool(false, doc);

const K8S_ENV_DEFAULT: Record<string, string> = {
  K8S_POD_NAME: 'k8s.pod.name',
  K8S_POD_UID: 'k8s.pod.uid',
  K8S_NAMESPACE_NAME: 'k8s.namespace.name',
  K8S_NODE_NAME: 'k8s.node.name',
  K8S_CONTAINER_NAME: 'k8s.container.name',
};

export const fileExporterSchema = strict({
  type: z.literal('file'),
  path: path(undefined, { description: "Output file (mode 0600, directory 0700).", default: "`<data_dir>/out/logs.jsonl`" }),
  max_bytes: size(4096, Number.MAX_SAFE_INTEGER, 100 * MiB, { description: "Rotate when the next write would pass this size: `logs.jsonl` becomes `logs.jsonl.1`, `.1` becomes `.2`, and so on." }),
  max_files: int(0, 10000, 5, { description: "Rotated files kept; older ones are deleted. `0` keeps none (the file is truncated on rotation)." }),
});

/** The exporters' `tls`: `cert`, `key`, `ca` as the listeners write them; the `_file` spellings are deprecated aliases. */
const exporterTls = optionalSection(
  {
    ca: path(undefined, { description: "CA certificates (PEM) the downstream's certificate must chain to.", default: "system roots" }),
    cert: path(undefined, { description: "Client certificate (PEM) for mTLS; `cert` and `key` go together." }),
    key: path(undefined, { description: "Its private key (PEM). Never logged." }),
    server_name: text(undefined, { description: "Name the certificate must carry, when it is not the host of the endpoint.", default: "the endpoint's host" }),
    ca_file: path(undefined, { description: 'Deprecated spelling of `tls.ca` (a warning at start).', default: '—' }),
    cert_file: path(undefined, { description: 'Deprecated spelling of `tls.cert` (a warning at start).', default: '—' }),
    key_file: path(undefined, { description: 'Deprecated spelling of `tls.key` (a warning at start).', default: '—' }),
  },
  { ...{ description: "Present: TLS 1.3 to the downstream (for `otlp_http`, with an `https://` endpoint; for `otlp_grpc`, a `https://` endpoint means TLS without this section, and an `http://` one refuses it). Keys below; `ca_file`, `cert_file` and `key_file`, as the OpenTelemetry Collector spells them, are accepted with a warning naming the new key." }, default: 'none (plaintext), or TLS with the system roots for an `https://` endpoint' },
);

const ENDPOINT_DOC: KeyDoc = { type: '`otlp_grpc`: `host:port`, `[v6]:port`, `unix:PATH`, or an `http://` (plaintext) or `https://` (TLS) URL of host and port; `otlp_http`: an `http://` or `https://` URL', default: 'required', ...{ description: "Where to send. For `otlp_http` a URL without a path gets `/v1/logs`, as in the OpenTelemetry SDKs; a URL with a path is used as it is. `otlp_grpc` calls `opentelemetry.proto.collector.logs.v1.LogsService/Export`. An `otlp_grpc` URL is only scheme, host and port, as the OpenTelemetry Collector reads it: `http://collector:4317` is plaintext, `https://collector:4317` is TLS (with the system roots unless `tls` says more)." } };

const otlpCommon = {
  tls: exporterTls,
  connections: int(1, 64, 2, { description: "Connections to the downstream. One HTTP/2 connection carries a few hundred MB/s at most; more connections spread the load when the downstream has several cores." }),
  max_in_flight: int(1, 256, 4, { description: "Downstream requests one ring batch may have in flight at once. The exporter process has up to `export.read_ahead_batches` batches per ring out at a time, so at most rings × `read_ahead_batches` × this many requests are in flight." }),
  headers: finish(
    z.record(z.string(), z.string({ error: 'a mapping of header names to strings' }), { error: 'a mapping of header names to strings' }).transform((h) => Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), v]))),
    {},
    { type: 'mapping of strings', default: 'none', ...{ description: "Sent with every request (gRPC metadata, HTTP headers), e.g. an authorization token. Names are lowercased." } },
  ) as z.ZodType<Record<string, string>>,
  timeout_ms: duration(1, HOUR_MS, 10_000, { description: "Deadline of one attempt. A timed-out attempt is retried." }),
  // 4 MiB is what gRPC servers (the OpenTelemetry Collector's included) accept by default.
  max_message_bytes: size(KiB, GiB, 4 * MiB, { description: "Largest request the downstream accepts (4 MiB is the gRPC default of the Collector and of grpc-go). A larger request is cut at `ResourceLogs` boundaries, or deeper (`ScopeLogs`, `LogRecord`) when one is too large; one `LogRecord` larger than this is dead-lettered (`GS_EXPORT_TOO_LARGE`)." }),
  compression: oneOf(['none', 'gzip'], 'none', { description: "Compress each request (gRPC message compression, or HTTP `Content-Encoding: gzip`)." }),
  batch: section({
    max_records: int(1, 10_000_000, 8192, { description: "Client requests are merged into one downstream request until it would hold more LogRecords than this. A single client request with more is sent as it is (cut only by `max_message_bytes`)." }),
    max_bytes: size(KiB, GiB, undefined, { description: "… or more bytes than this. The plan counts `2 × export.read_ahead_batches × max_in_flight × batch.max_bytes` per exporter process (send buffers, and the transport's copy, for each ring batch out).", default: "planned: a 256th of the limit as a power of two, 256 KiB to 4 MiB, at most `max_message_bytes`" }),
    delay_ms: duration(0, 60_000, 200, { description: "How long a trickle waits for more records before a partial batch is sent (measured from the receive time of its first record). The records wait in the ring, not in a copy. `0` sends whatever is there. With several exporters the shortest delay applies to all." }),
  }),
  retry: section({
    initial_ms: duration(1, HOUR_MS, 500, { description: "Retry backoff: attempt *n* waits a random time up to `initial_ms × 2^n` (full jitter), …" }),
    max_ms: duration(1, HOUR_MS, 30_000, { description: "… capped at this. A delay the downstream asks for (gRPC `RetryInfo`, HTTP `Retry-After`, at most 10 minutes) is used instead." }),
    max_elapsed_ms: duration(0, 7 * 24 * HOUR_MS, 0, { description: "Give up on a request after retrying it this long and dead-letter it. `0`: never give up; the ring backs up and ingest spills to the vault meanwhile, which is what the vault is for." }),
  }),
};

const grpcEndpoint = z.string({ error: `${ADDRESS_FORMS}, or an http:// or https:// URL of host and port` }).transform((s, ctx) => {
  const e = parseGrpcEndpoint(s);
  if (e === undefined) ctx.issues.push({ code: 'custom', message: `${ADDRESS_FORMS}, or an http:// or https:// URL of host and port`, input: s });
  return e as NonNullable<typeof e>;
});

const HTTP_URL = 'an http:// or https:// URL';
const httpEndpoint = z.string({ error: HTTP_URL }).transform((s, ctx) => {
  let url: URL | undefined;
  try {
    url = new URL(s);
  } catch {
    // Reported below.
  }
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    ctx.issues.push({ code: 'custom', message: HTTP_URL, input: s });
    return s;
  }
  // As the OpenTelemetry SDKs do: a bare origin means the standard logs path.
  if (url.pathname === '/' || url.pathname === '') url.pathname = '/v1/logs';
  return url.toString();
});

export const otlpGrpcExporterSchema = strict({ type: z.literal('otlp_grpc'), endpoint: grpcEndpoint.meta({ ...ENDPOINT_DOC }), ...otlpCommon });
export const otlpHttpExporterSchema = strict({
  type: z.literal('otlp_http'),
  endpoint: httpEndpoint.meta({ ...ENDPOINT_DOC }),
  encoding: oneOf(['protobuf', 'json'], 'protobuf', { description: "`otlp_http` only: binary protobuf (the request bytes as they are), or OTLP/JSON (written from the request's bytes as the file exporter writes it: costs CPU)." }),
  ...otlpCommon,
});
const stdoutExporterSchema = strict({ type: z.literal('stdout') });

const exporterSchema = z.discriminatedUnion('type', [fileExporterSchema, otlpGrpcExporterSchema, otlpHttpExporterSchema, stdoutExporterSchema], { error: 'one of file, otlp_grpc, otlp_http, stdout' }) as z.ZodType<
  z.output<typeof fileExporterSchema> | z.output<typeof otlpGrpcExporterSchema> | z.output<typeof otlpHttpExporterSchema> | z.output<typeof stdoutExporterSchema>
>;

const powerOfTwo = { test: (n: number) => (n & (n - 1)) === 0, expected: 'a power of two', type: 'a power of two' };
const ringBytes = (doc: KeyDoc) => size(64 * KiB, GiB, undefined, doc, powerOfTwo);
const zoneFraction = (dflt: number, doc: KeyDoc) => fraction(0.01, 1, dflt, doc);

export const configSchema = section({
  data_dir: path('./var', { description: "Where the engine keeps its state: the pid file, Unix sockets, the default output and dead-letter files. Created with mode 0700. One engine per data_dir (a second one refuses to start with `GS_ENGINE_RUNNING`)." }),
  log_level: oneOf(['debug', 'info', 'warn', 'error'], 'info', { description: "Threshold of the engine's own structured log on stderr." }),
  log_format: oneOf(['auto', 'json', 'text'], 'auto', { description: "Form of that log: `json`, one JSON object per line (for journald, `kubectl logs`, a log shipper); `text`, one readable line per event (`15:48:39.123 INFO  supervisor[1234] engine ready workers=2 …`); `auto`, text when stderr is a terminal and JSON otherwise, decided by each process." }),
  memory: section({
    limit_bytes: size(16 * MiB, Number.MAX_SAFE_INTEGER, undefined, { description: "The limit the plan is made for.", default: "the environment variable `GOPHERSHIP_MEMORY_LIMIT` (same form; a Kubernetes manifest fills it from `resources.limits.memory` through the downward API), else the tightest memory cgroup limit on the way to the root (v2 `memory.max`, v1 `memory.limit_in_bytes`), else the host's `MemTotal`" }),
    fraction: fraction(0.3, 0.95, DEFAULT_PLAN_FRACTION, { description: "What the plan's worst case may take of the limit. The rest is for the kernel (page tables, socket buffers) and the hot pages of the node binary, which are reclaimable but thrash when squeezed." }),
  }),
  ingest: section({
    workers: int(0, 256, 0, { description: "Number of ingest worker processes. Every worker binds its own SO_REUSEPORT socket on each TCP address, so the kernel spreads connections over them.", default: "`0`: planned, one per 256 MiB of limit, at most one per CPU" }),
    max_message_bytes: size(KiB, GiB, undefined, { description: "Largest request accepted. A larger gRPC message is answered `RESOURCE_EXHAUSTED` as soon as its header is seen, without buffering it. For a gzip-compressed request the limit also bounds the inflated size (checked by the exporter; an over-size inflated request is dead-lettered).", default: "planned: 16 MiB, or what half the smaller ring holds (less 64 bytes) when that is less" }),
    max_inflight_bytes: size(KiB, 16 * GiB, undefined, { description: "Request bytes one worker holds before they are in its ring (requests still arriving). Past it a request is refused with gRPC `UNAVAILABLE` and a `RetryInfo`, so a client with many slow streams cannot make the worker hold `max_concurrent_streams × max_message_bytes` per connection. One connection may hold at most half of it, but never less than the largest request (the larger of `max_message_bytes` and `otlp_http.max_body_bytes`): a client stalling many streams leaves the other half to everybody else, and a single client still gets its largest request through (with the defaults, a connection holds up to 32 MiB: two 16 MiB messages arriving at once). Set it to at least twice the largest request for the share to protect anything.", default: "planned: a twentieth of the limit as a power of two, 1 to 64 MiB, and at least the largest request" }),
    max_connections: int(1, 1_000_000, undefined, { description: "Connections one listener of one worker holds at once (every gRPC, HTTP and lines listener, TCP and Unix, has its own count). Past it a new connection is closed as soon as it is accepted, before any TLS handshake, counted in `gophership_ingest_refused_connections_total` and logged at `warn` at most once per 10 s per listener. The default keeps a worker's listeners, all full, within its open-file limit (read from `/proc/self/limits` at start; node raises the soft limit to the hard one; 64 descriptors are kept for rings, bells and logs), and the partial lines its lines listeners may hold within half its heap (the OTLP listeners' requests are bounded by `max_inflight_bytes` instead).", default: "derived: the smaller of (open-file limit − 64) / listeners and half of `max_heap_mib` / lines listeners / (`lines.max_line_bytes` + 64 KiB); `512` with a 256 MiB heap and the default listeners" }),
    max_heap_mib: int(16, 65536, undefined, { description: "Each ingest worker's V8 old-space cap (`--max-old-space-size`); its semi-space is a sixteenth of it (1 to 16 MiB). See the memory plan in docs/operations.md.", default: "planned: 6 % of the limit, 16 to 256" }),
    otlp_grpc: section({
      listen: listenList('`["127.0.0.1:4317", "unix:<data_dir>/otlp-grpc.sock"]`', { description: "Where OTLP/gRPC `LogsService/Export` is served. Host names are resolved at start. Unix sockets are created by the supervisor (mode 0660) and shared by all workers." }),
      max_concurrent_streams: int(1, 10000, 100, { description: "HTTP/2 streams (requests in flight) per connection." }),
      window_bytes: size(65535, 256 * MiB, 4 * MiB, { description: "HTTP/2 receive window per stream; the connection window is raised to match. Larger windows let large batches arrive in fewer round trips; they also bound how many request bytes a connection can have in flight." }),
      // A healthy client sends a DATA frame (16 KiB at most) far more often; 10 s is also
      // the OpenTelemetry SDKs' default export timeout, past which the client gave up anyway.
      stream_idle_timeout_ms: duration(100, HOUR_MS, 10_000, { description: "A request whose message is not complete within this long of its last DATA frame (or of its headers) is answered `UNAVAILABLE` (retryable), its stream reset, its bytes given back to `max_inflight_bytes`, and counted (`reason=\"stream_idle\"`). A healthy client sends a frame (16 KiB at most) far more often; 10 s is also the OpenTelemetry SDKs' default export timeout, past which the client has given up anyway. A connection with no frames at all for 2 minutes is closed gracefully (GOAWAY), so that idle clients do not keep `max_connections` full." }),
      // As an OTLP/HTTP request's whole-request bound: enough for the largest message on a slow link.
      stream_timeout_ms: duration(100, HOUR_MS, 60_000, { description: "A request whose message is not complete this long after its headers is answered `UNAVAILABLE` (retryable), its stream reset and its bytes given back, however it trickles (a byte now and then keeps `stream_idle_timeout_ms` from firing); counted with the stalled ones (`reason=\"stream_idle\"`). 60 s carries the largest message on a slow link, as `ingest.otlp_http.request_timeout_ms` does." }),
      tls: listenerTls({ description: "TLS on the TCP listeners (Unix sockets stay plaintext, guarded by their file mode)." }),
      insecure: insecure({ description: "Allow a plaintext TCP listener on a non-loopback address. Without it, such a listener stops the start with `GS_CONFIG_INVALID` naming the address and both fixes." }),
    }),
    otlp_http: section({
      listen: listenList('`["127.0.0.1:4318"]`', { description: "Where OTLP/HTTP `POST /v1/logs` is served (protobuf or JSON, optionally gzip). Same rules as `otlp_grpc.listen`: one SO_REUSEPORT socket per worker for TCP, Unix sockets made by the supervisor and shared." }),
      max_body_bytes: size(KiB, GiB, undefined, { description: "Largest body, counted after decompression: a gzip body is inflated as it arrives (into a small window that is counted and dropped, never kept) and refused with 413 as soon as it passes the limit, so a decompression bomb costs no more than the limit in CPU and nothing in memory. The bytes as received are held to it too. Larger bodies are refused with HTTP 413 (at once when `content-length` says so).", default: "planned: 20 MiB, or what half the smaller ring holds (less 64 bytes) when that is less" }),
      // The same reasoning as the gRPC stream's; a whole request gets a minute, enough for
      // the largest body on a slow link, and no more for one trickled a byte at a time.
      idle_timeout_ms: duration(100, HOUR_MS, 10_000, { description: "Longest silence on a connection: mid-body (the request is answered 408, its bytes given back, and counted, `reason=\"body_idle\"`), before the headers are complete (closed), and between kept-alive requests (node's `keepAliveTimeout`). Headers must also be complete within it even if they trickle (node's `headersTimeout`: 408). Same reasoning as `otlp_grpc.stream_idle_timeout_ms`." }),
      request_timeout_ms: duration(100, HOUR_MS, 60_000, { description: "Longest time from a request's first byte to its last, however steadily it trickles (node's `requestTimeout`: 408, the request counted as cancelled). A minute carries the largest body over a slow link. node checks both timeouts every tenth of the shorter (at least every 100 ms)." }),
      tls: listenerTls({ description: "HTTPS on the TCP listeners (ALPN `http/1.1`); Unix sockets stay plaintext. Reloaded on SIGHUP or a file change like the gRPC listener's." }),
      insecure: insecure({ description: "Allow a plaintext listener on a non-loopback address. Without it (and without `tls`), such a listener stops the start with `GS_CONFIG_INVALID`." }),
    }),
    lines: section({
      listen: listenList('`["127.0.0.1:5170", "unix:<data_dir>/lines.sock"]`', { description: "Where newline-delimited lines are accepted (no framing, no acknowledgement). Same rules as `otlp_grpc.listen`." }),
      max_line_bytes: size(16, 64 * MiB, undefined, { description: "Longest line. A connection never holds more than one partial line of this size; a longer line is cut by `long_lines`, and counted.", default: "planned: 64 KiB, or what half the smaller ring holds less 128 KiB when that is less" }),
      long_lines: oneOf(['split', 'truncate'], 'split', { description: "`split`: every `max_line_bytes` of a long line becomes a line of its own (nothing is lost). `truncate`: the first `max_line_bytes` are kept and the rest of the line is dropped." }),
      // Lines clients (shippers, syslog) keep a connection across quiet spells and write
      // a line at once; two minutes of silence or of one unfinished line is neither.
      idle_timeout_ms: duration(100, 24 * HOUR_MS, 120_000, { description: "A connection that sends nothing for this long, or that holds one unfinished line for this long (a client trickling a line a byte at a time is never silent), is closed and counted (`gophership_ingest_lines_idle_closed_total`); its partial line is stored as a line, as when a client closes. A connection paused by backpressure (both rings full) is not timed. Log shippers keep a connection through quiet spells and write whole lines at once; two minutes of silence or of one unfinished line is neither." }),
      tls: listenerTls({ description: "TLS on the TCP listeners (no ALPN): lines are read once the handshake is done." }),
      insecure: insecure({ description: "Allow a plaintext lines listener on a non-loopback address." }),
    }),
  }),
  rings: section({
    dir: path(undefined, { description: "Directory of the ring files (`green-N.ring`), their doorbell FIFOs, the zone cell and the lock. Should be tmpfs. Unset, the engine makes a directory with a random name at a start that finds none and records its path in `<data_dir>/rings-dir`, so the next start (after a crash) finds the rings, and no other user can guess the name. Set or not, the directory must be the engine's own: created with mode 0700, or, when it exists, owned by the engine's uid with mode 0700, else the start fails with `GS_RINGS_UNSAFE`. Its parent must not be a directory another user may rename entries in (tmpfs `/dev/shm` is sticky). Point it at a subdirectory of a mounted volume, not the mount itself (a memory `emptyDir` is mode 0777). A clean stop removes the rings that hold nothing and the directory (docs/operations.md, \"Files\").", default: "a private directory `/dev/shm/gophership-<uid>-<random>`" }),
    green_bytes: ringBytes({ description: "Size of each worker's green ring (to the exporters). Must be at least twice the largest record (a record never wraps, so the largest one must fit in half the ring): the largest of `ingest.max_message_bytes`, `ingest.otlp_http.max_body_bytes`, and `ingest.lines.max_line_bytes` plus 128 KiB (a lines record is at most one partial line plus one 64 KiB read).", default: "planned: the rings share a quarter of the plan's budget, each ring a power of two from 1 to 64 MiB (8 MiB at a 256 MiB limit with the file exporter), halved until the plan fits" }),
    red_bytes: ringBytes({ description: "Size of each worker's red ring (to the vault), with the same rule.", default: "planned, as `green_bytes`" }),
    replay_bytes: ringBytes({ description: "Size of the replay ring, through which the vault hands replayed records to exporter 0. Shared memory in use, once touched, is `workers × (green_bytes + red_bytes) + replay_bytes`, all of it in the plan.", default: "planned, as `green_bytes`" }),
  }),
  vault: section({
    dir: path(undefined, { description: "Directory of the segment files (mode 0700, files 0600).", default: "`<data_dir>/vault`" }),
    segment_bytes: size(MiB, 16 * GiB, 64 * MiB, { description: "A segment rolls to the next before it would pass this size." }),
    max_bytes: size(16 * MiB, Number.MAX_SAFE_INTEGER, 10 * GiB, { description: "Bound on all segments together. When reached, records wait in the red rings and then ingest refuses retryably (`GS_VAULT_FULL` in the log). Nothing is ever deleted to make room." }),
    sync: oneOf(['always', 'interval', 'never'], 'interval', { description: "When written segments are made durable with `fdatasync`. See below." }),
    sync_interval_ms: duration(1, 60_000, 100, { description: "With `interval`: the longest a written record waits for `fdatasync`." }),
    replay_records_per_second: int(1, 100_000_000, 200_000, { description: "Upper bound on replay speed, in vault records per second: a vault record is one request as ingest received it (a run of lines for the lines receiver), not a log record; `gs-ctl status` and `gophership_replay_requests_total` count the same unit (`gs-ctl replay`, online and automatic replay; a tenth of it in Yellow, paused in Red)." }),
    auto_replay: bool(true, { description: "Replay by itself whenever the zone is Green and the vault holds records not yet replayed." }),
    max_heap_mib: int(16, 65536, undefined, { description: "The vault process's V8 old-space cap (`--max-old-space-size`); see the memory plan in docs/operations.md.", default: "planned: 6 % of the limit, 16 to 128" }),
    write_buffer_bytes: size(MiB, 256 * MiB, undefined, { description: "What one O_DIRECT write carries, and the bytes of the vault's ring batches. The replay's batches in flight take at most as much again.", default: "planned: a 64th of the limit as a power of two, 1 to 8 MiB" }, { test: (n) => n % 4096 === 0, expected: 'a multiple of 4096 (an O_DIRECT write)', type: 'a multiple of 4096' }),
  }),
  zones: section({
    force: oneOf(ZONE_MODES as unknown as readonly ['auto', ...string[]], 'auto', { description: "`auto` follows the pressure monitor. A zone name pins it from the start: `red` sends every request to the vault (a drill, or a known spike). `gs-ctl zone` changes it at run time." }) as z.ZodType<(typeof ZONE_MODES)[number]>,
    yellow: zoneFraction(0.8, { description: "Working set / limit at which the zone becomes at least Yellow (replay slows)." }),
    red: zoneFraction(0.9, { description: "… at which it becomes Red (ingest writes to the vault; exporters hold)." }),
    recover: zoneFraction(0.7, { description: "The moving average must fall below this to return to Green." }),
    ring_yellow: zoneFraction(0.5, { description: "Fullest green ring fill for Yellow." }),
    ring_red: zoneFraction(0.9, { description: "… for Red: the exporters are behind, so new requests go to the vault rather than fill the ring." }),
    ring_recover: zoneFraction(0.25, { description: "… below which (moving average) Green returns." }),
    psi_red: zoneFraction(0.2, { description: "PSI memory `some` avg10 (fraction of time stalled) that means Red." }),
    psi_trigger: finish(z.string().regex(/^$|^(some|full) \d+ \d+$/, { error: '"some|full <stall µs> <window µs>" or ""' }), 'some 200000 2000000', { type: 'string', ...{ description: "Kernel PSI trigger armed on the PSI file (stall µs within window µs); when it fires the monitor samples at once and the zone is at least Yellow. `\"\"` disables it." } }) as z.ZodType<string>,
    sample_interval_ms: duration(1, 10_000, 10, { description: "Mean sampling interval (each wait is 0.5–1.5× this)." }),
    ewma_alpha: fraction(0.01, 1, 0.2, { description: "Weight of the newest sample in the moving average that decides coming down." }),
    min_dwell_ms: duration(0, 600_000, 1000, { description: "Shortest stay in a zone before stepping down (climbing is immediate)." }),
  }),
  export: section({
    processes: int(1, 64, 1, { description: "Number of exporter processes. Exporter *j* drains the rings whose number *i* has *i mod processes = j* (exporter 0 also takes online replay). With more than one, each exporter writes files of its own: `logs.jsonl` becomes `logs-0.jsonl`, `logs-1.jsonl`, …, and likewise the dead-letter file (processes appending to one file would rotate and cut it back under each other)." }),
    dead_letter_path: path(undefined, { description: "Requests that cannot be decoded (poison) are written here, one JSON line each with the reason and the raw bytes in base64, instead of blocking the ring. Rotated at 256 MiB, 4 old files kept.", default: "`<data_dir>/dead-letter.jsonl`" }),
    max_heap_mib: int(16, 65536, undefined, { description: "Each exporter's V8 old-space cap. The C heap glibc keeps for reuse is an eighth of it (at most 64 MiB), and is in the plan too. It also sets how heavy an OTLP/JSON body ingest accepts: half of it at 256 bytes a unit (a JSON value, plus one per log record), 1,048,576 units at 512 MiB; heavier bodies are refused with 400 (docs/architecture.md, OTLP/HTTP). And how many ResourceLogs an exporter prepares at once: an eighth of it at 512 bytes each (a request with more is dead-lettered; a batch with more is sent in parts).", default: "planned: a tenth of the limit, 24 to 512" }),
    // Two: the next batch is assembled and sent while the downstream answers the previous one,
    // which is what keeps a forwarding exporter's connections busy.
    read_ahead_batches: int(1, 8, 2, { description: "Ring batches of one ring out to the exporters at once: the next batch is prepared and sent while the downstream answers the previous one. The ring's head still moves in ring order, only over batches every exporter has acknowledged, so a crash resends at most what was out. Taken as `1` when a `file` or `stdout` exporter is configured (they write each batch's JSON in order, from one reused buffer). The plan counts each batch out: `2 × read_ahead_batches × max_in_flight × batch.max_bytes` per OTLP exporter." }),
  }),
  exporters: finish(
    z.preprocess((v) => (v !== null && typeof v === 'object' && !Array.isArray(v) ? [v] : v), z.array(exporterSchema, { error: 'a non-empty list of exporters' }).min(1)),
    [{ type: 'file' }],
    { type: 'list', default: 'one `file` exporter', description: 'The exporters (below).' },
  ) as z.ZodType<z.output<typeof exporterSchema>[]>,
  enrich: section({
    host_name: bool(true, { description: "Add `host.name` (the host's name, `os.hostname()`)." }),
    service_instance_id: bool(true, { description: "Add `service.instance.id` to resources without one: a UUID (version 5 layout) derived from the host name and, when known, `k8s.pod.uid` and `k8s.container.name`, so it stays the same across restarts. Meant for a sidecar or agent beside one application; on a gateway or a node agent (DaemonSet) receiving many services set it to `false`, or every service gets the engine's id." }),
    k8s_env: mapping((error) => z.string({ error }).min(1, { error }), 'a mapping of environment variable names to attribute keys', K8S_ENV_DEFAULT, { type: 'mapping of environment variable to attribute key', ...{ description: "Attributes taken from the engine's environment, as a pod spec sets them with the downward API (`valueFrom.fieldRef`: `metadata.name`, `metadata.uid`, `metadata.namespace`, `spec.nodeName`; the container name as a literal). A variable that is unset or empty adds nothing. Giving the key replaces the whole default mapping; `{}` turns it off. A node agent (DaemonSet) maps only `K8S_NODE_NAME`, and sets `host_name: false` (its hostname is its own Pod's name): the Pod variables would name the agent's own Pod on every application's logs (deployments/daemonset.yaml).", default: "`K8S_POD_NAME: k8s.pod.name`, `K8S_POD_UID: k8s.pod.uid`, `K8S_NAMESPACE_NAME: k8s.namespace.name`, `K8S_NODE_NAME: k8s.node.name`, `K8S_CONTAINER_NAME: k8s.container.name`" } }),
    attributes: mapping((error) => z.union([z.string(), z.number(), z.boolean()], { error }), 'a mapping of attribute keys to strings, numbers or booleans', {}, { type: 'mapping of attribute key to string, number or boolean', default: 'none', ...{ description: "Static attributes (integers become `intValue`, other numbers `doubleValue`)." } }),
    override: bool(false, { description: "`true`: the attributes above replace those the resource already has with the same key." }),
  }),
  supervisor: section({
    restart_backoff_min_ms: duration(1, HOUR_MS, 100, { description: "First delay before restarting a child that died. Doubles with each further death." }),
    restart_backoff_max_ms: duration(1, HOUR_MS, 30_000, { description: "Longest delay. A child that stayed up this long counts as healthy: its next death starts again at the minimum." }),
    crash_loop_restarts: int(1, 1000, 5, { description: "This many deaths of one child within the window is a crash loop: logged at `error` with code `GS_CHILD_CRASH_LOOP`, and restarts slow to the longest delay." }),
    crash_loop_window_ms: duration(1000, HOUR_MS, 60_000, { description: "The window for crash-loop detection." }),
    shutdown_timeout_ms: duration(100, 600_000, 10_000, { description: "On SIGTERM, SIGINT or `gs-ctl drain`: how long ingest workers get to finish in-flight requests, and exporters to empty the rings, before the children still running are sent SIGKILL (they are asked to stop over IPC; there is no SIGTERM step, children ignore it). Records still in a ring after a forced stop are not lost: the next start exports them." }),
  }),
  metrics: section({
    enabled: bool(true, { description: "`false`: no HTTP listener at all." }),
    listen: finish(tcpAddress('"host:port" (an HTTP endpoint for Prometheus and probes)'), '127.0.0.1:9464', { type: '`host:port` (`[v6]:port`)', default: '`127.0.0.1:9464`', ...{ description: "Where the endpoint listens; TCP only. A port already taken stops the start with `GS_LISTEN_FAILED`." } }) as z.ZodType<ListenAddress & { kind: 'tcp' }>,
    insecure: bool(false, { description: "The endpoint is plaintext HTTP, so an address other than loopback (`127.0.0.0/8`, `::1`, `localhost`) is refused unless this is `true`. Kubernetes probes and a Prometheus on another host need it (`0.0.0.0:9464`)." }),
    child_timeout_ms: duration(10, 60_000, 500, { description: "How long a scrape or a readiness check waits for each child's answer. A scrape leaves a late child out (and counts it in `gophership_metrics_child_timeouts_total`); a readiness check counts a late ingest worker as not ready." }),
    refusing_window_ms: duration(1000, HOUR_MS, 10_000, { description: "An ingest worker that refused a request for lack of room (both rings full, or `ingest.max_inflight_bytes` reached) within this window is *refusing*, and `/readyz` fails." }),
  }),
  control: section({
    socket: path(undefined, { description: "The control plane's Unix socket, always on, mode 0660 (its directory, data_dir by default, is 0700). Each connection's peer uid is read with SO_PEERCRED.", default: "`<data_dir>/control.sock`" }),
    allowed_uids: finish(z.preprocess((v) => (typeof v === 'number' ? [v] : v), z.array(z.number({ error: 'a list of numeric user ids' }).int().min(0).max(0xffffffff), { error: 'a list of numeric user ids' })), undefined, { type: 'list of integers', ...{ description: "Only these uids get answers on the Unix socket; others get `PERMISSION_DENIED` (`GS_CONTROL_DENIED`), and the engine logs their uid and pid.", default: "`[0, <uid of the engine>]`" } }) as z.ZodType<number[] | undefined>,
    tcp: optionalSection(
      {
        listen: finish(tcpAddress('"host:port" (the Unix socket is control.socket)'), '127.0.0.1:9092', { type: '`host:port`', default: '`127.0.0.1:9092`', ...{ description: "Where it listens." } }) as z.ZodType<ListenAddress & { kind: 'tcp' }>,
        // Only cert, key and ca: the control plane always requires a client certificate and TLS 1.3.
        tls: optionalSection({ cert: path(undefined, { description: "Server certificate chain, PEM." }), key: path(undefined, { description: "Its private key, PEM. Never logged." }), ca: path(undefined, { description: "CA bundle, PEM, that client certificates are verified against." }) }, { type: '[TLS section](#tls-sections) with `cert`, `key` and `ca` only', default: '— (required)', leaf: true, ...{ description: "Always TLS 1.3 only and a client certificate signed by `ca`; `client_auth` and `min_version` cannot be set here." } }),
      },
      { default: 'none (off)', ...{ description: "The TCP control listener. Requires `tls`: it is never plaintext." } },
    ),
  }),
});

/** The file as the schema reads it: sizes the plan decides, and paths under data_dir, still open. */
export type FileConfig = z.output<typeof configSchema>;

/** How a default appears in a docs table: its accepted written form. */
export function formatDefault(value: unknown, doc: KeyDoc): string {
  if (typeof value === 'number' && doc.unit === 'size') return `\`${formatSize(value)}\``;
  if (typeof value === 'number' && doc.unit === 'duration') return `\`${formatDuration(value)}\``;
  if (typeof value === 'object' && value !== null && 'kind' in value) return `\`${formatListen(value as ListenAddress)}\``;
  return `\`${typeof value === 'string' ? value : JSON.stringify(value)}\``;
}
