import type { Application } from 'express';
import type { ExpressConsulOptions } from './express-consul-options';
import { ExpressConsul } from './express-consul';

/**
 * One call makes an Express app a Consul citizen: `const consul = expressConsul(app, { service:
 * { name: 'payments' } }); await consul.listen(8080);`. Throws ConfigError for bad options at once.
 */
export function expressConsul(app: Application, options: ExpressConsulOptions): ExpressConsul {
  return new ExpressConsul(app, options);
}
