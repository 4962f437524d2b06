// express-consul/testing: a real Consul for tests of services built with express-consul.
// A separate entry point so that the main one never loads testcontainers.
export { startConsul, startConsulCluster } from './start-consul';
export { DEFAULT_CONSUL_IMAGE } from './consul-container';
export type {
  ConsulMode,
  StartConsulClusterOptions,
  StartConsulOptions,
  StartedConsul,
  StartedConsulCluster,
} from './start-consul-options';
// Several hosts on one Linux machine (network namespaces, root only), an agent on each.
export { hostsUnsupportedReason, startHosts } from './start-hosts';
export type {
  Host,
  HostProcess,
  HostRunOptions,
  ProcessExit,
  StartHostsOptions,
  StartedHosts,
  StopProcessOptions,
  WaitForLineOptions,
} from './start-hosts-options';
