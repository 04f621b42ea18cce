import test from 'ava';
import { countIds } from './helpers/output';
import { startEngine } from './helpers/engine';
import { sendRecords } from './helpers/otel-sdk';
import { readFileSync } from 'node:fs';

const K8S_ENV = {
  K8S_POD_NAME: 'checkout-7d4b9c-x2x9q',
  K8S_POD_UID: '1f2e3d4c-0000-4000-8000-00000000abcd',
  K8S_NAMESPACE_NAME: 'shop',
  K8S_NODE_NAME: 'node-3',
  K8S_CONTAINER_NAME: 'checkout',
};

test('sidecar -> gateway -> file: 20,000 SDK records arrive once each, with the sidecar enrichment and the gateway static attribute', async (t) => {
  const gateway = await startEngine({ enrich: { host_name: false, service_instance_id: false, attributes: { 'gateway.name': 'gw-1' } } });
  t.teardown(() => gateway.cleanup());
  // The sidecar's exporter process inherits this environment, as a pod's containers get the downward API's.
  Object.assign(process.env, K8S_ENV);
  const sidecar = await startEngine({
    exporters: [{ type: 'otlp_grpc', endpoint: `unix:${gateway.grpcSocket}`, batch: { delay_ms: 20 } }],
    enrich: { attributes: { 'deployment.environment': 'test' } },
  });
  t.teardown(() => sidecar.cleanup());

  const total = 20_000;
  t.deepEqual(await sendRecords(`http://127.0.0.1:${sidecar.grpcPort}`, 'c', total), { delivered: total, failed: 0 });
  // The sidecar stops only once the gateway acknowledged everything; the gateway then drains to its file.
  t.is(await sidecar.stop(), 0);
  t.is(await gateway.stop(), 0);

  const counts = countIds(gateway.outputPath);
  const wrong = [];
  for (let i = 0; i < total; i++) if (counts.get(`c-${i}`) !== 1) wrong.push(`c-${i}: ${counts.get(`c-${i}`)}`);
  t.deepEqual(wrong.slice(0, 10), [], 'every record arrives exactly once');

  const resources = new Set<string>();
  for (const line of readFileSync(gateway.outputPath, 'utf8').trim().split('\n')) {
    for (const rl of JSON.parse(line).resourceLogs as Array<{ resource: { attributes: Array<{ key: string; value: { stringValue: string } }> } }>) {
      resources.add(JSON.stringify(Object.fromEntries(rl.resource.attributes.map((a) => [a.key, a.value.stringValue]))));
    }
  }
  t.is(resources.size, 1, 'every request carries the same resource');
  const attributes = JSON.parse([...resources][0]) as Record<string, string>;
  t.like(attributes, {
    'service.name': 'gophership-test',
    'k8s.pod.name': K8S_ENV.K8S_POD_NAME,
    'k8s.pod.uid': K8S_ENV.K8S_POD_UID,
    'k8s.namespace.name': K8S_ENV.K8S_NAMESPACE_NAME,
    'k8s.node.name': K8S_ENV.K8S_NODE_NAME,
    'k8s.container.name': K8S_ENV.K8S_CONTAINER_NAME,
    'deployment.environment': 'test',
    'gateway.name': 'gw-1',
  });
  t.is(typeof attributes['host.name'], 'string', 'host.name from the sidecar');
  t.truthy(attributes['service.instance.id'], 'service.instance.id, absent from the SDK resource, added by the sidecar');
});
