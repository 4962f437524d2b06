import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

/**
 * A service id unique per instance and stable for the life of the process: name, host and a random
 * suffix (two instances of one service may share a host, and even a process, as tests do).
 */
export function generateServiceId(name: string, host: string = hostname()): string {
  return `${name}-${host}-${randomBytes(4).toString('hex')}`;
}
