import { mutationConfig } from './shared.mjs';

// The retry rule and the facts, budget and outlier detection it rests on.
export default mutationConfig({
  name: 'retry',
  mutate: [
    'src/client/retry-policy.ts',
    'src/client/retry-decision.ts',
    'src/client/retry-budget.ts',
    'src/client/outlier-detector.ts',
  ],
  tests: [
    'test/client/retry-policy.test.ts',
    'test/client/retry-decision.test.ts',
    'test/client/retry-budget.test.ts',
    'test/client/outlier-detector.test.ts',
  ],
});
