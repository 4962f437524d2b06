#!/usr/bin/env node
// `express-consul`: the command-line entry point (package.json "bin"). The only place in the
// package that touches process.exitCode and installs signal handlers; run.ts does the work.
import { run } from './run';
import { wantsColour } from './table';

const stop = new AbortController();
const onSignal = (): void => stop.abort();
process.once('SIGINT', onSignal);
process.once('SIGTERM', onSignal);

const io = {
  out: (line: string): void => void process.stdout.write(`${line}\n`),
  err: (line: string): void => void process.stderr.write(`${line}\n`),
  colour: wantsColour(process.stdout),
};

void run(process.argv.slice(2), io, stop.signal).then((code) => {
  process.exitCode = code;
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
});
