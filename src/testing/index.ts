// express-consul/testing: a real Consul for tests of services built with express-consul.
// A separate entry point so that the main one never loads testcontainers.
export { startConsul } from './start-consul';
export { DEFAULT_CONSUL_IMAGE } from './consul-container';
export type { ConsulMode, StartConsulOptions, StartedConsul } from './start-consul-options';
