/** Reads a running engine's HTTP endpoint: scrapes /metrics and parses the text format. */
import { request } from 'undici';
import { setTimeout as sleep } from 'node:timers/promises';

export interface Sample {
  labels: Record<string, string>;
  value: number;
}

export interface Scrape {
  /** Samples by series name (histograms as name_bucket, name_sum, name_count). */
  samples: Map<string, Sample[]>;
  /** Metric families named in `# TYPE` lines, with their type. */
  types: Map<string, string>;
}

export async function get(port: number, path: string, method: 'GET' | 'HEAD' | 'POST' = 'GET'): Promise<{ status: number; body: string; contentType: string }> {
  const res = await request(`http://127.0.0.1:${port}${path}`, { method });
  return { status: res.statusCode, body: await res.body.text(), contentType: String(res.headers['content-type']) };
}

export async function scrape(port: number): Promise<Scrape> {
  const { status, body } = await get(port, '/metrics');
  if (status !== 200) throw new Error(`/metrics answered ${status}: ${body}`);
  return parseExposition(body);
}

export function parseExposition(text: string): Scrape {
  const samples = new Map<string, Sample[]>();
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) types.set(type[1], type[2]);
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m === null) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]] = pair[2];
    const list = samples.get(m[1]) ?? [];
    list.push({ labels, value: Number(m[3]) });
    samples.set(m[1], list);
  }
  return { samples, types };
}

/** The value of the one series of `name` whose labels include `labels`; undefined when none. */
export function valueOf(s: Scrape, name: string, labels: Record<string, string> = {}): number | undefined {
  const found = (s.samples.get(name) ?? []).filter((x) => Object.entries(labels).every(([k, v]) => x.labels[k] === v));
  if (found.length > 1) throw new Error(`${name}${JSON.stringify(labels)} matches ${found.length} series`);
  return found[0]?.value;
}

/**
 * Scrapes until `ok` holds, for conditions that only a scrape can observe (a counter reaching
 * a value). Bounded: throws with the last scrape's verdict after `timeoutMs`.
 */
export async function scrapeUntil(port: number, ok: (s: Scrape) => boolean, timeoutMs = 15_000): Promise<Scrape> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await scrape(port);
    if (ok(s)) return s;
    if (Date.now() > deadline) throw new Error(`metrics condition not met within ${timeoutMs} ms`);
    await sleep(100);
  }
}
