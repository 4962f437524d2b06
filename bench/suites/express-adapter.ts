import type { Suite } from '../lib/suite';

export const expressAdapterSuite: Suite = {
  id: 'express-adapter',
  title: 'express-adapter',
  run() {
    return Promise.resolve({ tables: [], figures: {}, notes: ['not built yet'] });
  },
};
