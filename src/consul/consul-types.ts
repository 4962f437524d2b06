// Shapes of the parts of Consul's HTTP API that express-consul uses (Consul's own PascalCase).

/** Body of `PUT /v1/agent/service/register`. */
export interface AgentServiceRegistration {
  Name: string;
  ID?: string;
  Address?: string;
  Port?: number;
  Tags?: string[];
  Meta?: Record<string, string>;
  Weights?: { Passing: number; Warning: number };
  EnableTagOverride?: boolean;
  Check?: AgentCheckRegistration;
}

/** An HTTP check definition inside a service registration. Durations are Consul strings ("10s"). */
export interface AgentCheckRegistration {
  CheckID?: string;
  Name?: string;
  HTTP: string;
  Method?: string;
  Interval: string;
  Timeout: string;
  DeregisterCriticalServiceAfter?: string;
  DisableRedirects?: boolean;
  TLSSkipVerify?: boolean;
  TLSServerName?: string;
  SuccessBeforePassing?: number;
  FailuresBeforeCritical?: number;
  Status?: 'passing' | 'warning' | 'critical';
}

/** Answer of `GET /v1/agent/service/:id`. */
export interface AgentService {
  ID: string;
  Service: string;
  Address: string;
  Port: number;
  Tags: string[] | null;
  Meta: Record<string, string> | null;
  Weights?: { Passing: number; Warning: number };
  ContentHash?: string;
}

/** Consul's health states; `maintenance` appears for checks set by maintenance mode. */
export type HealthStatus = 'passing' | 'warning' | 'critical' | 'maintenance';

/** One check inside a health entry. */
export interface HealthCheck {
  Node: string;
  CheckID: string;
  Name: string;
  Status: HealthStatus;
  ServiceID: string;
  ServiceName: string;
  Output?: string;
  Notes?: string;
  /** Raft index of the check's last change (listed by `/v1/health/state/*`). */
  ModifyIndex?: number;
}

/** One element of `GET /v1/health/service/:name`. */
export interface HealthServiceEntry {
  Node: { ID?: string; Node: string; Address: string; Datacenter?: string };
  Service: {
    ID: string;
    Service: string;
    Address: string;
    Port: number;
    Tags: string[] | null;
    Meta: Record<string, string> | null;
    Weights?: { Passing: number; Warning: number };
  };
  Checks: HealthCheck[];
}

/** Query parameters of `GET /v1/health/service/:name`, blocking-query ones included. */
export interface HealthServiceQuery {
  /** Only instances whose checks all pass (Consul's `passing`). */
  passingOnly?: boolean;
  tag?: string;
  datacenter?: string;
  /** Consul filter expression (e.g. `Service.Meta.version == "2"`). */
  filter?: string;
  /** Let any server answer, not only the leader (`stale`): survives leader elections. */
  stale?: boolean;
  /** Answer from the local agent's cache (`cached`): cheaper, survives short server outages. */
  cached?: boolean;
  /** Blocking-query index from the previous answer; 0 or absent answers at once. */
  index?: number;
  /** How long Consul may hold the query open, in milliseconds. */
  waitMs?: number;
}

/** Query parameters of `GET /v1/health/state/any`, blocking-query ones included. */
export interface HealthStateQuery {
  datacenter?: string;
  stale?: boolean;
  /** Blocking-query index from the previous answer; 0 or absent answers at once. */
  index?: number;
  /** How long Consul may hold the query open, in milliseconds. */
  waitMs?: number;
}

/** Metadata Consul sends with every read. */
export interface ConsulQueryMeta {
  /** X-Consul-Index; undefined when absent or not a number. */
  index: number | undefined;
  knownLeader: boolean;
  lastContactMs: number;
  /** X-Cache: HIT or MISS when `cached` was asked for. */
  cache: string | undefined;
}
