/**
 * The engine configurations in deployments/ are valid, and agree with the memory, ports and
 * paths that their systemd unit, Kubernetes manifests and Compose file give them.
 */
import test from 'ava';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { validateConfig, type Config } from '../src/common/config';
import { makePki } from './helpers/certs';
import { scratchDir } from './helpers/engine';
import { DEPLOYMENTS, binaryBytes, k8sBytes, readManifests, readYaml, withoutPendingKeys, type Raw } from './helpers/deployments';

interface Sample {
  name: string;
  raw: Raw;
  config: Config;
}

function sample(name: string, raw: Raw): Sample {
  return { name, raw, config: validateConfig(withoutPendingKeys(raw)) };
}

/** `files` stands in for paths only the Pod has (a mounted Secret): the config check reads them. */
function configMapSample(file: string, files: Record<string, string> = {}): Sample {
  const map = readManifests(file).find((d) => d.kind === 'ConfigMap');
  const text = Object.entries(files).reduce((yaml, [path, local]) => yaml.split(path).join(local), map!.data['gophership.yaml'] as string);
  return sample(file, parse(text) as Raw);
}

/**
 * The operator sets the limit and nothing else: the sample sets no size and no zone
 * threshold, and the plan made for the limit its unit or manifest gives fits (validateConfig
 * refuses one that does not). Returns the configuration as planned for that limit.
 */
function assertPlanned(t: import('ava').ExecutionContext, s: Sample, limit: number): Config {
  const planned = ['ingest.workers', 'ingest.max_message_bytes', 'ingest.max_inflight_bytes', 'ingest.max_heap_mib', 'rings.green_bytes', 'rings.red_bytes', 'rings.replay_bytes', 'vault.max_heap_mib', 'export.max_heap_mib'];
  for (const key of planned) {
    const [section, name] = key.split('.');
    t.is(s.raw[section]?.[name], undefined, `${s.name}: ${key} is left to the memory plan`);
  }
  t.is(s.raw.zones, undefined, `${s.name}: the zones keep their defaults`);
  const config = validateConfig(withoutPendingKeys(s.raw), { bytes: limit, source: s.name });
  t.true(config.memory.plan.total_bytes <= config.memory.plan.budget_bytes);
  return config;
}

/** A manifest hands the container's memory limit to the plan through the downward API. */
function assertLimitFromManifest(t: import('ava').ExecutionContext, container: Raw): void {
  const env = (container.env as Raw[]).find((e) => e.name === 'GOPHERSHIP_MEMORY_LIMIT');
  t.deepEqual(env?.valueFrom?.resourceFieldRef, { containerName: container.name, resource: 'limits.memory' });
}

/**
 * What the rings may take on any machine: the plan gives them at most a quarter of its budget
 * whatever the number of cores (and workers); here, on this machine's, they take no more.
 */
function ringShare(c: Config): number {
  const rings = c.ingest.workers * (c.rings.green_bytes + c.rings.red_bytes) + c.rings.replay_bytes;
  if (rings > c.memory.plan.budget_bytes / 4) throw new Error(`rings ${rings} above a quarter of the budget`);
  return c.memory.plan.budget_bytes / 4;
}

test('systemd: the sample configuration is valid and fits the unit\'s MemoryMax and directories', (t) => {
  const s = sample('gophership.yaml', readYaml('gophership.yaml'));
  const unit = readFileSync(join(DEPLOYMENTS, 'gophership.service'), 'utf8');
  const setting = (key: string): string | undefined => new RegExp(`^${key}=(.*)$`, 'm').exec(unit)?.[1];
  assertPlanned(t, s, binaryBytes(setting('MemoryMax')!));
  t.true(s.config.data_dir.startsWith(`/var/lib/${setting('StateDirectory')}`), 'data_dir is the StateDirectory');
  t.true((s.config.rings.dir ?? '').startsWith(`/run/${setting('RuntimeDirectory')}/`), 'rings are in the RuntimeDirectory');
  t.is(setting('RuntimeDirectoryPreserve'), 'yes', 'the rings outlive a restart');
  t.deepEqual(s.config.metrics.listen, { host: '127.0.0.1', port: 9464 });
  t.regex(setting('ExecStart')!, /run --config \/etc\/gophership\/gophership\.yaml$/);
  t.true(binaryBytes(setting('TimeoutStopSec')!.replace(/s$/, '')) * 1000 > 2 * s.config.supervisor.shutdown_timeout_ms, 'TimeoutStopSec covers both shutdown stages');
  for (const hardening of ['NoNewPrivileges=yes', 'ProtectSystem=strict', 'PrivateTmp=yes', 'ProtectHome=yes', 'Restart=on-failure', 'KillMode=mixed', 'CapabilityBoundingSet=']) {
    t.true(unit.split('\n').includes(hardening), hardening);
  }
});

test('sidecar: configuration valid, rings fit the memory emptyDir and the limit, probes on the metrics port, socket shared', (t) => {
  const s = configMapSample('sidecar.yaml');
  const pod = readManifests('sidecar.yaml').find((d) => d.kind === 'Deployment')!.spec.template.spec;
  const sidecar = (pod.initContainers as Raw[]).find((c) => c.name === 'gophership')!;
  const app = (pod.containers as Raw[]).find((c) => c.name === 'app')!;
  t.is(sidecar.restartPolicy, 'Always', 'a native sidecar');
  const planned = assertPlanned(t, s, k8sBytes(sidecar.resources.limits.memory));
  assertLimitFromManifest(t, sidecar);
  const shm = (pod.volumes as Raw[]).find((v) => v.name === mountOf(sidecar, '/dev/shm'))!;
  t.is(shm.emptyDir.medium, 'Memory');
  t.true(k8sBytes(shm.emptyDir.sizeLimit) >= ringShare(planned), 'the memory emptyDir holds every ring');
  t.true((s.config.rings.dir ?? '').startsWith('/dev/shm/'));
  assertProbes(t, sidecar, s.config);

  const socket = s.config.ingest.otlp_grpc.listen.find((l) => l.kind === 'unix');
  t.true(socket !== undefined && socket.kind === 'unix');
  const socketDir = socket!.kind === 'unix' ? socket!.path.replace(/\/[^/]+$/, '') : '';
  t.is(mountOf(app, socketDir), mountOf(sidecar, socketDir), 'app and sidecar mount the socket directory from one volume');
  t.not(mountOf(app, socketDir), undefined);
  t.true(app.env.some((e: Raw) => e.value === `unix://${socket!.kind === 'unix' ? socket!.path : ''}`), 'the app is pointed at the socket');
  t.is(pod.securityContext.runAsGroup, pod.securityContext.fsGroup, 'one group for both containers: the socket is 0660');
  t.true(pod.terminationGracePeriodSeconds * 1000 > 2 * s.config.supervisor.shutdown_timeout_ms);
  t.true(k8sBytes((pod.volumes as Raw[]).find((v) => v.name === mountOf(sidecar, s.config.data_dir))!.emptyDir.sizeLimit) > s.config.vault.max_bytes, 'the data emptyDir holds a full vault');
});

test('daemonset: configuration valid, hostPorts to the OTLP listeners, only the node as enrichment, no API rights, memory sized', (t) => {
  const docs = readManifests('daemonset.yaml');
  const pod = docs.find((d) => d.kind === 'DaemonSet')!.spec.template.spec;
  const c = (pod.containers as Raw[]).find((x) => x.name === 'gophership')!;
  const tlsDir = '/etc/gophership-tls';
  const pkiDir = scratchDir('test-deployments-pki-');
  t.teardown(() => rmSync(pkiDir, { recursive: true, force: true }));
  const pki = makePki(pkiDir);
  const s = configMapSample('daemonset.yaml', { [`${tlsDir}/tls.crt`]: pki.server.cert, [`${tlsDir}/tls.key`]: pki.server.key });
  const planned = assertPlanned(t, s, k8sBytes(c.resources.limits.memory));
  assertLimitFromManifest(t, c);
  const shm = (pod.volumes as Raw[]).find((v) => v.name === mountOf(c, '/dev/shm'))!;
  t.true(k8sBytes(shm.emptyDir.sizeLimit) >= ringShare(planned));
  assertProbes(t, c, s.config);

  for (const [port, section] of [['otlp-grpc', 'otlp_grpc'], ['otlp-http', 'otlp_http']] as const) {
    const exposed = (c.ports as Raw[]).find((p) => p.name === port)!;
    t.is(exposed.hostPort, exposed.containerPort, `${port} is on the node's port`);
    const listener = s.config.ingest[section];
    t.true(listener.listen.some((l) => l.kind === 'tcp' && l.host === '0.0.0.0' && l.port === exposed.containerPort), `${section} listens on the hostPort's container port`);
    t.deepEqual(listener.tls && { cert: listener.tls.cert, key: listener.tls.key }, { cert: pki.server.cert, key: pki.server.key }, `${section} serves TLS with the Secret's certificate and key`);
    t.false(s.raw.ingest[section].insecure === true, `${section} is not plaintext`);
  }
  t.true(s.config.ingest.lines.listen.every((l) => l.kind === 'unix' || l.host === '127.0.0.1'), 'lines are not exposed');
  t.deepEqual((c.ports as Raw[]).filter((p) => p.hostPort !== undefined).map((p) => p.name).sort(), ['otlp-grpc', 'otlp-http'], 'only the TLS listeners are on node ports');
  const tls = (pod.volumes as Raw[]).find((v) => v.name === mountOf(c, tlsDir))!;
  t.is(tls.secret.secretName, 'gophership-tls');
  t.is(tls.secret.defaultMode, 0o440, 'the key is readable by the engine\'s group only');
  t.is(pod.securityContext.fsGroup, c.securityContext.runAsGroup, 'and that group is the engine\'s');
  t.true((c.volumeMounts as Raw[]).find((m) => m.name === tls.name)?.readOnly === true, 'mounted read-only');
  const fieldOf = (name: string): string | undefined => (c.env as Raw[]).find((e) => e.name === name)?.valueFrom?.fieldRef?.fieldPath;
  t.is(fieldOf('K8S_NODE_NAME'), 'spec.nodeName');
  // The agent serves every Pod of its node: its own Pod's identity must not reach their resources.
  t.deepEqual(s.config.enrich.k8s_env, { K8S_NODE_NAME: 'k8s.node.name' });
  t.false(s.config.enrich.service_instance_id);
  t.false(s.config.enrich.host_name, 'without hostNetwork the hostname is the agent\'s own Pod name');
  const vault = (pod.volumes as Raw[]).find((v) => v.name === mountOf(c, s.config.vault.dir))!;
  t.is(vault.hostPath.path, '/var/lib/gophership', 'the vault is on the node (hostPath)');
  t.deepEqual(pod.tolerations, [{ operator: 'Exists' }]);

  t.is(pod.serviceAccountName, 'gophership');
  t.false(pod.automountServiceAccountToken);
  t.deepEqual(docs.filter((d) => /Role/.test(d.kind)).map((d) => d.kind), [], 'no Role or binding: the account has no rights');
});

test('compose: the configuration is valid and fits the container\'s memory and /dev/shm', (t) => {
  const s = sample('compose/gophership.yaml', readYaml('compose/gophership.yaml'));
  const compose = readYaml('docker-compose.yaml');
  const svc = compose.services.gophership;
  t.true(binaryBytes(svc.shm_size) >= ringShare(assertPlanned(t, s, binaryBytes(svc.mem_limit))));
  t.true((s.config.rings.dir ?? '').startsWith('/dev/shm/'));
  const prometheus = parse(readFileSync(join(DEPLOYMENTS, 'compose/prometheus.yml'), 'utf8')) as Raw;
  t.deepEqual(prometheus.scrape_configs[0].static_configs[0].targets, [`gophership:${s.config.metrics.listen.port}`]);
  t.true(s.config.ingest.otlp_grpc.listen.some((l) => l.kind === 'tcp' && compose.services['log-producer'].environment.OTLP_ENDPOINT === `http://gophership:${l.port}`));
});

/** The name of the volume mounted at `path` or at a parent of it. */
function mountOf(container: Raw, path: string): string | undefined {
  return (container.volumeMounts as Raw[]).find((m) => path === m.mountPath || path.startsWith(`${m.mountPath}/`))?.name;
}

function assertProbes(t: import('ava').ExecutionContext, c: Raw, config: Config): void {
  const metricsPort = (c.ports as Raw[]).find((p) => p.name === 'metrics')!;
  t.is(metricsPort.containerPort, config.metrics.listen.port);
  t.is(config.metrics.listen.host, '0.0.0.0', 'the kubelet probes the Pod IP');
  t.is(c.livenessProbe.httpGet.path, '/healthz');
  t.is(c.readinessProbe.httpGet.path, '/readyz');
  t.is(c.livenessProbe.httpGet.port, 'metrics');
  t.is(c.readinessProbe.httpGet.port, 'metrics');
}
