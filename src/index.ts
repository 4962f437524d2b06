export { expressConsul } from './express/create-express-consul';
export type { ExpressConsul, ExpressConsulState } from './express/express-consul';
export type { ShutdownHook } from './express/shutdown-hooks';
export type { ExpressConsulOptions } from './express/express-consul-options';
export type {
  ServiceOptions,
  CheckOptions,
  HealthOptions,
  ShutdownOptions,
  CheckTlsOptions,
  RegistrationOptions,
  MetricsOptions,
} from './config/options';
export { DEFAULTS } from './config/resolve-options';
export type { Discovery } from './client/discovery';
export type { DiscoveryOptions } from './client/discovery-options';
export { createDiscovery } from './client/create-discovery';
export type { StandaloneDiscoveryOptions } from './client/create-discovery';
export type { ServiceClient, ServiceRequest, ServiceResponse } from './client/service-client';
export type {
  ServiceClientOptions,
  RetryBackoffOptions,
  UpstreamTlsOptions,
} from './client/service-client-options';
export type { DiscoveryFetchInit } from './client/discovery-fetch';
export type { RetryBudgetOptions } from './client/retry-budget';
export type { OutlierDetectorOptions } from './client/outlier-detector';
export type { Balancer, BalancerName, BalancerView, PickContext } from './balancer/balancer';
// Named for what it is in the options (`balancerOptions`); the factory it feeds is internal.
export type { CreateBalancerOptions as BalancerOptions } from './balancer/create-balancer';
export type { PeakEwmaOptions } from './balancer/least-request';
export type { ServiceInstance } from './watch/service-instance';
export type { InvalidInstanceReason } from './watch/to-service-instance';
export type {
  ServiceWatcher,
  ServiceChangeEvent,
  WatchErrorEvent,
  InvalidInstanceEvent,
  ServiceWatcherStatus,
} from './watch/service-watcher';
export type { WatchSettingsOptions, WatchBackoffOptions } from './watch/service-watcher-options';
export type { ExpressConsulMetrics } from './metrics/express-consul-metrics';
export { metricsHandler } from './metrics/metrics-handler';
export type { ConsulClient } from './consul/consul-client';
export type { ConsulConnectionOptions, ConsulTlsOptions } from './consul/consul-environment';
export type { ServiceRegistration, RegistrationState } from './registration/service-registration';
export type { HealthIndicator, HealthReport, HealthState } from './health/health-indicator';
export type { Logger } from './logger';
export type { Listener } from './events/listener-set';
export type {
  AdapterStatus,
  UpstreamStatus,
  InstanceStatus,
  TrafficStatus,
  TrafficTargetStatus,
} from './admin/status';
export { createConfig } from './kv/create-config';
export type { StandaloneConfigOptions } from './kv/create-config';
export type {
  ConsulConfig,
  ConfigChangeEvent,
  ConfigRefusedEvent,
  ConfigStatus,
} from './kv/consul-config';
export type { ConsulConfigOptions } from './kv/config-options';
export type { ConfigFormat } from './kv/parse-config';
export type {
  StandardSchemaV1,
  StandardSchemaIssue,
  StandardSchemaResult,
  InferSchemaOutput,
} from './kv/standard-schema';
export type { LeaderElection, LeaderOptions, LeaderStatus } from './leader/leader-election';
export type { ConsulLock, LockLease, AcquireOptions } from './leader/consul-lock';
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
export type {
  ExpressConsulErrorCode,
  KvConfigProblem,
  DeliveryOptions,
  ReasonOptions,
  RetriesExhaustedReason,
} from './errors';
export type { FailReason } from './client/request-outcome';
