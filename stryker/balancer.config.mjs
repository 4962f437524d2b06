import { mutationConfig } from './shared.mjs';

// The balancers and their shared parts (candidates, selection, hash, slow start).
export default mutationConfig({
  name: 'balancer',
  mutate: ['src/balancer/**/*.ts'],
  tests: ['test/balancer/**/*.test.ts'],
});
