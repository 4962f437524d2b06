import type { RequestHandler } from 'express';
import type { AdapterStatus } from './status';

/**
 * An Express handler answering the admin view as JSON. Opt-in: mount it where only operators
 * reach it (`app.get('/admin/consul', consul.statusHandler())`). It holds no token and no error
 * text, only what the balancers see, and is never cached.
 */
export function statusHandler(read: () => AdapterStatus): RequestHandler {
  return (_request, response) => {
    response.set('cache-control', 'no-store');
    response.json(read());
  };
}
