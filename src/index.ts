export { expressConsul } from './express/create-express-consul';
export { ExpressConsul } from './express/express-consul';
export type { ExpressConsulState } from './express/express-consul';
export type { ShutdownHook } from './express/shutdown-hooks';
export type {
  ExpressConsulOptions,
  ServiceOptions,
  CheckOptions,
  HealthOptions,
  ShutdownOptions,
  RegistrationOptions,
  MetricsOptions,
} from './config/options';
export { DEFAULTS } from './config/resolve-options';
export { Discovery } from './client/discovery';
export type { DiscoveryOptions } from './client/discovery-options';
export { createDiscovery } from './client/create-discovery';
export type { StandaloneDiscoveryOptions } from './client/create-discovery';
export { ServiceClient } from './client/service-client';
export type { ServiceRequest, ServiceResponse } from './client/service-client';
export type {
  ServiceClientOptions,
  RetryBackoffOptions,
  UpstreamTlsOptions,
} from './client/service-client-options';
export type { DiscoveryFetchInit } from './client/discovery-fetch';
export type { RetryBudgetOptions } from './client/retry-budget';
export type { OutlierDetectorOptions } from './client/outlier-detector';
export type { Balancer, BalancerName, PickContext } from './balancer/balancer';
export type { ServiceInstance } from './discovery/service-instance';
export { ServiceWatcher } from './discovery/service-watcher';
export type {
  ServiceChangeEvent,
  WatchErrorEvent,
  InvalidInstanceEvent,
  ServiceWatcherStatus,
} from './discovery/service-watcher';
export type {
  ServiceWatcherOptions,
  ServiceQueryOptions,
} from './discovery/service-watcher-options';
export { ExpressConsulMetrics } from './metrics/express-consul-metrics';
export { metricsHandler } from './metrics/metrics-handler';
export { ConsulClient } from './consul/consul-client';
export type { CallOptions, ConsulQueryResult } from './consul/consul-client';
export type { ConsulConnectionOptions, ConsulTlsOptions } from './consul/consul-environment';
export type {
  AgentService,
  AgentServiceRegistration,
  HealthServiceEntry,
  HealthServiceQuery,
  HealthStatus,
} from './consul/consul-types';
export { ServiceRegistration } from './registration/service-registration';
export type { RegistrationState } from './registration/service-registration';
export type { HealthIndicator, HealthReport, HealthState } from './health/health-indicator';
export type { Logger } from './logger';
export type {
  AdapterStatus,
  UpstreamStatus,
  InstanceStatus,
  TrafficStatus,
  TrafficTargetStatus,
} from './admin/status';
export { createConfig } from './kv/create-config';
export type { StandaloneConfigOptions } from './kv/create-config';
export { ConsulConfig } from './kv/consul-config';
export type { ConfigChangeEvent, ConfigRefusedEvent, ConfigStatus } from './kv/consul-config';
export type { ConsulConfigOptions } from './kv/config-options';
export type { ConfigFormat } from './kv/parse-config';
export type {
  StandardSchemaV1,
  StandardSchemaIssue,
  StandardSchemaResult,
  InferSchemaOutput,
} from './kv/standard-schema';
export { LeaderElection } from './leader/leader-election';
export type { LeaderOptions, LeaderStatus } from './leader/leader-election';
export { ConsulLock, LockLease } from './leader/consul-lock';
export type { AcquireOptions } from './leader/consul-lock';
export type { LockOptions } from './leader/lock-options';
export {
  ExpressConsulError,
  ConfigError,
  ConsulUnavailableError,
  ConsulAclError,
  ConsulResponseError,
  ConsulResponseTooLargeError,
  NoHealthyInstancesError,
  RetriesExhaustedError,
  RequestTimeoutError,
  UpstreamError,
  AbortedError,
  InvalidStateError,
  ClosedError,
  TooManyServicesError,
  ServiceNotAllowedError,
  KvConfigError,
  LockHeldError,
  LeaseLostError,
  isExpressConsulError,
  isConfigError,
  isConsulUnavailableError,
  isConsulAclError,
  isConsulResponseError,
  isConsulResponseTooLargeError,
  isNoHealthyInstancesError,
  isRetriesExhaustedError,
  isRequestTimeoutError,
  isUpstreamError,
  isAbortedError,
  isInvalidStateError,
  isClosedError,
  isTooManyServicesError,
  isServiceNotAllowedError,
  isKvConfigError,
  isLockHeldError,
  isLeaseLostError,
} from './errors';
export type { ExpressConsulErrorCode, KvConfigProblem } from './errors';
