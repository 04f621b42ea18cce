/**
 * Unknown-field detection for Kubernetes manifests, as `kubectl apply --validate=strict`
 * does: kubernetes-models' schema validators (like the API server without strict field
 * validation) let a misspelt key through, but its TypeScript declarations list every field
 * of every API type. The TypeScript checker walks a manifest along those declarations.
 */
import { join } from 'node:path';
import ts from 'typescript';
import { ROOT } from './engine';

/** Manifest kinds by `apiVersion/kind`: the declaration module and interface of each. */
const KINDS: Record<string, [string, string]> = {
  'v1/ConfigMap': ['kubernetes-models/v1/ConfigMap', 'IConfigMap'],
  'v1/Namespace': ['kubernetes-models/v1/Namespace', 'INamespace'],
  'v1/ServiceAccount': ['kubernetes-models/v1/ServiceAccount', 'IServiceAccount'],
  'apps/v1/Deployment': ['kubernetes-models/apps/v1/Deployment', 'IDeployment'],
  'apps/v1/DaemonSet': ['kubernetes-models/apps/v1/DaemonSet', 'IDaemonSet'],
};

export type UnknownFieldFinder = (doc: Record<string, unknown>) => string[];

/** Compiles the declarations once (a few seconds); the finder is then quick. */
export function unknownFieldFinder(): UnknownFieldFinder {
  const entry = join(ROOT, 'test', '__k8s-kinds.ts');
  const kinds = Object.entries(KINDS);
  const source = kinds.map(([, [module, name]], i) => `import type { ${name} as T${i} } from '${module}';\nexport type K${i} = T${i};`).join('\n');
  const options: ts.CompilerOptions = { module: ts.ModuleKind.Node16, moduleResolution: ts.ModuleResolutionKind.Node16, target: ts.ScriptTarget.ES2022, noEmit: true, skipLibCheck: true, types: [] };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  host.getSourceFile = (file, ...rest) => (file === entry ? ts.createSourceFile(file, source, ts.ScriptTarget.ES2022) : getSourceFile(file, ...rest));
  host.fileExists = (file) => file === entry || fileExists(file);
  const program = ts.createProgram([entry], options, host);
  const checker = program.getTypeChecker();
  const aliases = program.getSourceFile(entry)!.statements.filter(ts.isTypeAliasDeclaration);
  const roots = new Map(kinds.map(([kind], i) => [kind, checker.getTypeAtLocation(aliases[i].name)]));

  const walk = (value: unknown, declared: ts.Type, path: string, found: string[]): void => {
    if (value === null || typeof value !== 'object') return;
    let type = checker.getNonNullableType(declared);
    if (type.isUnion()) {
      const objects = type.types.filter((t) => (t.flags & ts.TypeFlags.Object) !== 0);
      if (objects.length !== 1) return;
      type = objects[0];
    }
    if (Array.isArray(value)) {
      if (!checker.isArrayType(type)) return;
      const element = checker.getTypeArguments(type as ts.TypeReference)[0];
      value.forEach((item, i) => walk(item, element, `${path}[${i}]`, found));
      return;
    }
    const properties = checker.getPropertiesOfType(type);
    const index = type.getStringIndexType();
    for (const [key, child] of Object.entries(value)) {
      const property = properties.find((p) => p.name === key);
      if (property !== undefined) walk(child, checker.getTypeOfSymbol(property), `${path}.${key}`, found);
      else if (index !== undefined) walk(child, index, `${path}.${key}`, found);
      else if (properties.length > 0) found.push(`${path}.${key}`);
    }
  };

  return (doc) => {
    const root = roots.get(`${String(doc.apiVersion)}/${String(doc.kind)}`);
    if (root === undefined) throw new Error(`no declarations here for ${String(doc.apiVersion)} ${String(doc.kind)}`);
    const found: string[] = [];
    walk(doc, root, String(doc.kind), found);
    return found;
  };
}
