export { expressConsul } from './express/create-express-consul';
export { ExpressConsul } from './express/express-consul';
export type { ExpressConsulState } from './express/express-consul';
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
export {
  ExpressConsulError,
  ConfigError,
  ConsulUnavailableError,
  ConsulAclError,
  ConsulResponseError,
  NoHealthyInstancesError,
  RetriesExhaustedError,
  RequestTimeoutError,
  AbortedError,
  ClosedError,
  isExpressConsulError,
  isConfigError,
  isNoHealthyInstancesError,
  isConsulUnavailableError,
  isConsulAclError,
} from './errors';
export type { ExpressConsulErrorCode } from './errors';
