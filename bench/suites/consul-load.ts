import type { Suite } from '../lib/suite';

export const consulLoadSuite: Suite = {
  id: 'consul-load',
  title: 'consul-load',
  run() {
    return Promise.resolve({ tables: [], figures: {}, notes: ['not built yet'] });
  },
};
