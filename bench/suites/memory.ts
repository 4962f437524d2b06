import type { Suite } from '../lib/suite';

export const memorySuite: Suite = {
  id: 'memory',
  title: 'memory',
  run() {
    return Promise.resolve({ tables: [], figures: {}, notes: ['not built yet'] });
  },
};
