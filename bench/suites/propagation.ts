import type { Suite } from '../lib/suite';

export const propagationSuite: Suite = {
  id: 'propagation',
  title: 'propagation',
  run() {
    return Promise.resolve({ tables: [], figures: {}, notes: ['not built yet'] });
  },
};
