#!/usr/bin/env node
// llmseal-verify FILE --keys KEYSET.json [--prompt REQUEST.json] [--output RESPONSE]
//                [--log-vkey VKEY]... [--witness-policy POLICY] [--raw]
// llmseal-verify --bundle FILE --keys KEYSET.json [--log-vkey VKEY]... [--witness-policy POLICY]
// Prints the verify() (or verifyBundle()) result as JSON. Exit 0 iff valid (ok), 1
// otherwise, 2 for input it cannot use (the convention of `llmseal verify`).
import { readFileSync } from 'node:fs';
import { verify, verifyBundle } from '../src/index.js';

const USAGE = 'usage: llmseal-verify [--bundle] FILE --keys KEYSET.json [--prompt FILE] [--output FILE] [--log-vkey VKEY]... [--witness-policy FILE] [--raw]';

function parseArgs(argv) {
  const options = { logVkeys: [] };
  let file = null;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${arg} needs a value`);
      return argv[++i];
    };
    if (arg === '--keys') options.keys = read(value());
    else if (arg === '--prompt') options.prompt = read(value());
    else if (arg === '--output') options.output = read(value());
    else if (arg === '--log-vkey') options.logVkeys.push(value());
    else if (arg === '--witness-policy') options.witnessPolicy = read(value());
    else if (arg === '--raw') options.raw = true;
    else if (arg === '--bundle') options.bundle = true;
    else if (arg.startsWith('-') && arg !== '-') throw new Error(`unknown option ${arg}`);
    else if (file === null) file = arg;
    else throw new Error('one input file only');
  }
  if (file === null) throw new Error(USAGE);
  return { file, options };
}

function read(path) {
  return readFileSync(path === '-' ? 0 : path, 'utf8');
}

try {
  const { file, options } = parseArgs(process.argv.slice(2));
  if (options.bundle) {
    const result = await verifyBundle(read(file), options);
    process.stdout.write(`${JSON.stringify(result)}\n`);
    process.exitCode = result.ok ? 0 : result.error ? 2 : 1;
  } else {
    const result = await verify(read(file), options);
    process.stdout.write(`${JSON.stringify(result)}\n`);
    process.exitCode = result.status === 'valid' ? 0 : result.status === 'error' ? 2 : 1;
  }
} catch (error) {
  process.stderr.write(`llmseal-verify: error: ${error.message}\n`);
  process.exitCode = 2;
}
