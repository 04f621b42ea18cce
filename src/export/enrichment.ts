/**
 * The resource attributes this engine adds to what it exports: host.name, the Kubernetes
 * pod's identity from the downward API environment, a service.instance.id for resources
 * without one, and static attributes from the configuration. They are encoded once, at
 * start, as ready-made KeyValue fields that ResourceSplicer copies into each request.
 */
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import type { EnrichConfig } from '../common/config';
import { ExportLogsServiceRequest, anyValueOf, type OtlpKeyValue } from '../common/otlp-proto';
import { ResourceSplicer, type SpliceAttribute } from '../common/otlp-wire-resource';
import { Field, encodeLenField } from '../common/otlp-wire';

const KeyValue = ExportLogsServiceRequest.root.lookupType('opentelemetry.proto.common.v1.KeyValue');

export type AttributeValue = string | number | boolean;

/** One Resource.attributes field, as protobufjs would encode `{ key, value }`. */
export function encodeAttribute(key: string, value: AttributeValue): SpliceAttribute {
  const member = anyValueOf(value).value!;
  const keyValue = KeyValue.encode({ key, value: { [member]: value } }).finish();
  return { key: Buffer.from(key, 'utf8'), field: encodeLenField(Field.ResourceAttributes, keyValue) };
}

/** Attribute keys and values, in the order they are added. */
export function enrichmentAttributes(config: EnrichConfig, env: NodeJS.ProcessEnv = process.env): Map<string, AttributeValue> {
  const attributes = new Map<string, AttributeValue>();
  const host = hostname();
  if (config.host_name) attributes.set('host.name', host);
  for (const [variable, key] of Object.entries(config.k8s_env)) {
    const value = env[variable];
    if (value !== undefined && value !== '') attributes.set(key, value);
  }
  if (config.service_instance_id) attributes.set('service.instance.id', instanceId(host, attributes));
  for (const [key, value] of Object.entries(config.attributes)) attributes.set(key, value);
  return attributes;
}

/**
 * Stable across restarts of this engine on this host or pod (a random id per start would
 * make every restart look like a new instance): a name-based UUID (version 5 layout) of the
 * host name and the pod's uid and container name when known.
 */
function instanceId(host: string, attributes: ReadonlyMap<string, AttributeValue>): string {
  const name = [host, attributes.get('k8s.pod.uid') ?? '', attributes.get('k8s.container.name') ?? ''].join('/');
  const hash = createHash('sha1').update(`gophership.service.instance.id/${name}`).digest();
  hash[6] = (hash[6] & 0x0f) | 0x50;
  hash[8] = (hash[8] & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function resourceSplicer(config: EnrichConfig, env: NodeJS.ProcessEnv = process.env): ResourceSplicer {
  const attributes = [...enrichmentAttributes(config, env)].map(([key, value]) => encodeAttribute(key, value));
  return new ResourceSplicer(attributes, config.override);
}

/** Adds the enrichment to the resource attributes of a request built in code. */
export type AttributeMerge = (attributes: readonly OtlpKeyValue[]) => readonly OtlpKeyValue[];

/**
 * The enrichment for requests the export path builds itself (lines records), by the
 * splicer's rule, so that they come out as if built plain and then spliced: an attribute the
 * resource has wins unless `override`, which drops it instead; the added ones go last, in
 * order. test/lines-json.test.ts holds the two paths to the same output.
 */
export function attributeMerge(config: EnrichConfig, env: NodeJS.ProcessEnv = process.env): AttributeMerge {
  const added: OtlpKeyValue[] = [...enrichmentAttributes(config, env)].map(([key, value]) => ({ key, value: anyValueOf(value) }));
  if (added.length === 0) return (attributes) => attributes;
  const keys = new Set(added.map((a) => a.key));
  if (config.override) return (attributes) => [...attributes.filter((a) => !keys.has(a.key)), ...added];
  return (attributes) => {
    const present = new Set(attributes.map((a) => a.key));
    return [...attributes, ...added.filter((a) => !present.has(a.key))];
  };
}
