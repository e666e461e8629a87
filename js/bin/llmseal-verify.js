#!/usr/bin/env node
// llmseal-verify FILE --keys KEYSET.json [--prompt REQUEST.json] [--output RESPONSE]
//                [--log-vkey VKEY]... [--witness-policy POLICY] [--raw]
// Prints the verify() result as JSON. Exit 0 iff valid, 1 for another status, 2 for
// input it cannot use (the same convention as `llmseal verify`).
import { readFileSync } from 'node:fs';
import { verify } from '../src/index.js';

const USAGE = 'usage: llmseal-verify FILE --keys KEYSET.json [--prompt FILE] [--output FILE] [--log-vkey VKEY]... [--witness-policy FILE] [--raw]';

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
  const result = await verify(read(file), options);
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exitCode = result.status === 'valid' ? 0 : result.status === 'error' ? 2 : 1;
} catch (error) {
  process.stderr.write(`llmseal-verify: error: ${error.message}\n`);
  process.exitCode = 2;
}
