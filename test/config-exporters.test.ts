import test from 'ava';
import { ConfigError } from '../src/common/errors';
import { validateConfig, type OtlpGrpcExporterConfig, type OtlpHttpExporterConfig } from '../src/common/config';
import { enrichmentAttributes } from '../src/export/enrichment';

test('an otlp_grpc exporter gets the documented defaults', (t) => {
  const [e] = validateConfig({ exporters: [{ type: 'otlp_grpc', endpoint: 'unix:/run/collector.sock' }] }).exporters as OtlpGrpcExporterConfig[];
  t.deepEqual(e, {
    type: 'otlp_grpc',
    endpoint: { kind: 'unix', path: '/run/collector.sock' },
    tls: null,
    connections: 2,
    max_in_flight: 4,
    headers: {},
    timeout_ms: 10_000,
    max_message_bytes: 4 * 1024 * 1024,
    compression: 'none',
    batch: { max_records: 8192, max_bytes: 4 * 1024 * 1024, delay_ms: 200 },
    retry: { initial_ms: 500, max_ms: 30_000, max_elapsed_ms: 0 },
  });
});

test('an otlp_http endpoint without a path posts to /v1/logs; one with a path is kept', (t) => {
  const http = (endpoint: string): string => (validateConfig({ exporters: [{ type: 'otlp_http', endpoint }] }).exporters[0] as OtlpHttpExporterConfig).endpoint;
  t.is(http('http://collector:4318'), 'http://collector:4318/v1/logs');
  t.is(http('https://ingest.example/otlp/logs'), 'https://ingest.example/otlp/logs');
  t.throws(() => http('ftp://x'), { instanceOf: ConfigError, message: /Expected an http:\/\/ or https:\/\/ URL for exporters\[0\]\.endpoint/ });
});

test('exporter mistakes name the key', (t) => {
  const check = (exporter: object, message: RegExp): void => {
    t.throws(() => validateConfig({ exporters: [exporter] }), { instanceOf: ConfigError, message });
  };
  check({ type: 'otlp_grpc', endpoint: 'h:1', batch: { max_recs: 1 } }, /unknown key exporters\[0\]\.batch\.max_recs/);
  check({ type: 'otlp_grpc', endpoint: 'h:1', tls: { cert_file: '/c.pem' } }, /cert and key go together/);
  check({ type: 'otlp_grpc', endpoint: 'h:1', max_message_bytes: 2048, batch: { max_bytes: 4096 } }, /exporters\[0\]\.batch\.max_bytes/);
  check({ type: 'stdout', path: '/x' }, /unknown key exporters\[0\]\.path/);
  check({ type: 'otlp_http', endpoint: 'http://h', encoding: 'xml' }, /one of protobuf, json for exporters\[0\]\.encoding/);
});

test('enrichment: host, the downward API variables that are set, an instance id stable for the same pod, static attributes last', (t) => {
  const { enrich } = validateConfig({ enrich: { attributes: { 'deployment.environment': 'prod', 'host.name': 'pinned' } } });
  const env = { K8S_POD_NAME: 'p', K8S_POD_UID: 'u-1', K8S_NAMESPACE_NAME: '', K8S_CONTAINER_NAME: 'c' };
  const attributes = enrichmentAttributes(enrich, env);
  t.deepEqual([...attributes.keys()], ['host.name', 'k8s.pod.name', 'k8s.pod.uid', 'k8s.container.name', 'service.instance.id', 'deployment.environment']);
  t.is(attributes.get('host.name'), 'pinned', 'a static attribute wins over a detected one');
  t.is(attributes.get('service.instance.id'), enrichmentAttributes(enrich, { ...env }).get('service.instance.id'));
  t.not(attributes.get('service.instance.id'), enrichmentAttributes(enrich, { ...env, K8S_POD_UID: 'u-2' }).get('service.instance.id'));
  t.deepEqual([...enrichmentAttributes(validateConfig({ enrich: { host_name: false, service_instance_id: false, k8s_env: {} } }).enrich, env).keys()], []);
});
