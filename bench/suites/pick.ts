import type { Suite } from '../lib/suite';

export const pickSuite: Suite = {
  id: 'pick',
  title: 'pick',
  run() {
    return Promise.resolve({ tables: [], figures: {}, notes: ['not built yet'] });
  },
};
