/** Runs the real `gs-ctl` as a child process and collects what it printed. */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { ROOT } from './engine';

export const GS_CTL = join(ROOT, 'dist/src/ctl/cli.js');

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

export async function gsCtl(...args: string[]): Promise<Run> {
  return gsCtlIn(process.cwd(), ...args);
}

/** gs-ctl run from `cwd`, where its defaults (./var of the embedded configuration) point. */
export async function gsCtlIn(cwd: string, ...args: string[]): Promise<Run> {
  const child = spawn(process.execPath, [GS_CTL, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
  child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stdout, stderr };
}
