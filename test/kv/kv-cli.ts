import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { findConsulBinary } from '../../src/testing/find-consul-binary';

const run = promisify(execFile);

/** `consul kv put KEY VALUE` against the agent at `address`, as an operator would write a change. */
export async function kvPut(address: string, key: string, value: string): Promise<void> {
  await run(findConsulBinary()!, ['kv', 'put', `-http-addr=${address}`, key, value]);
}

/** `consul kv delete [-recurse] KEY`. */
export async function kvDelete(address: string, key: string, recurse = false): Promise<void> {
  await run(findConsulBinary()!, [
    'kv',
    'delete',
    `-http-addr=${address}`,
    ...(recurse ? ['-recurse'] : []),
    key,
  ]);
}
