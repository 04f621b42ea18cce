import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Read from package.json at the package root (this file runs from dist/src/common/). */
export const VERSION: string = (JSON.parse(readFileSync(join(__dirname, '../../../package.json'), 'utf8')) as { version: string }).version;
