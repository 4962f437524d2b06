import type { Suite } from '../lib/suite';

export const tailLatencySuite: Suite = {
  id: 'tail-latency',
  title: 'tail-latency',
  run() {
    return Promise.resolve({ tables: [], figures: {}, notes: ['not built yet'] });
  },
};
