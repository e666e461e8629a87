// Shared by the node:test files: where the repository's vectors live.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const VECTORS = fileURLToPath(new URL('../../tests/vectors/', import.meta.url));

export function readJson(...parts) {
  return JSON.parse(readFileSync(join(VECTORS, ...parts), 'utf8'));
}

export function readText(...parts) {
  return readFileSync(join(VECTORS, ...parts), 'utf8');
}

export function filesUnder(dir, suffix) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...filesUnder(path, suffix));
    else if (name.endsWith(suffix)) out.push(path);
  }
  return out;
}
