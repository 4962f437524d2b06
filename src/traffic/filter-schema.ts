// Which selectors a filter on `/v1/health/service/:name` (and a service-resolver subset filter)
// may use, and with which type. go-bexpr derives this from Consul's Go struct
// `structs.CheckServiceNode` by reflection (Consul 1.16.3, go-bexpr v0.1.2); this table is that
// derivation written out. The type decides the allowed operators, how a value is coerced and what
// a field absent from the JSON means (Go's zero value: `Service.Kind` is "" for a typical service).
// Fields tagged `bexpr:"-"` in Consul (RaftIndex, EnterpriseMeta, Locality, Definition,
// SidecarService, PeerMeta...) are not selectable there and are absent here.

/** A field's type as go-bexpr sees it. */
export type FieldType =
  | { readonly kind: 'string' }
  | { readonly kind: 'int' }
  | { readonly kind: 'bool' }
  | { readonly kind: 'stringList' }
  /** `map[string]X`: any key selects a value of type `value`. */
  | { readonly kind: 'map'; readonly value: FieldType }
  | { readonly kind: 'struct'; readonly fields: Readonly<Record<string, FieldType>> }
  /** A slice of structs: a selector below it matches when any element matches. */
  | { readonly kind: 'structList'; readonly fields: Readonly<Record<string, FieldType>> };

/** go-bexpr's operators (`contains` is its `in` with the operands swapped). */
export type MatchOperator =
  'equal' | 'notEqual' | 'in' | 'notIn' | 'isEmpty' | 'isNotEmpty' | 'matches' | 'notMatches';

/** Operators go-bexpr allows at a field of each kind. */
export const SUPPORTED_OPERATORS: Readonly<Record<FieldType['kind'], readonly MatchOperator[]>> = {
  string: ['equal', 'notEqual', 'in', 'notIn', 'matches', 'notMatches'],
  int: ['equal', 'notEqual'],
  bool: ['equal', 'notEqual'],
  stringList: ['in', 'notIn', 'isEmpty', 'isNotEmpty'],
  map: ['isEmpty', 'isNotEmpty', 'in', 'notIn'],
  struct: [],
  structList: ['isEmpty', 'isNotEmpty'],
};

const str: FieldType = { kind: 'string' };
const int: FieldType = { kind: 'int' };
const bool: FieldType = { kind: 'bool' };
const strings: FieldType = { kind: 'stringList' };
const struct = (fields: Record<string, FieldType>): FieldType => ({ kind: 'struct', fields });
const structList = (fields: Record<string, FieldType>): FieldType => ({
  kind: 'structList',
  fields,
});
const stringMap: FieldType = { kind: 'map', value: str };

const meshGateway = struct({ Mode: str });

const proxy = struct({
  EnvoyExtensions: structList({
    Name: str,
    Required: bool,
    ConsulVersion: str,
    EnvoyVersion: str,
  }),
  DestinationServiceName: str,
  DestinationServiceID: str,
  LocalServiceAddress: str,
  LocalServicePort: int,
  LocalServiceSocketPath: str,
  Mode: str,
  Upstreams: structList({
    DestinationType: str,
    DestinationNamespace: str,
    DestinationPartition: str,
    DestinationPeer: str,
    DestinationName: str,
    Datacenter: str,
    LocalBindAddress: str,
    LocalBindPort: int,
    LocalBindSocketPath: str,
    LocalBindSocketMode: str,
    MeshGateway: meshGateway,
  }),
  MeshGateway: meshGateway,
  Expose: struct({
    Checks: bool,
    Paths: structList({
      ListenerPort: int,
      Path: str,
      LocalPathPort: int,
      Protocol: str,
      ParsedFromCheck: bool,
    }),
  }),
  TransparentProxy: struct({ OutboundListenerPort: int, DialedDirectly: bool }),
  AccessLogs: struct({
    Enabled: bool,
    DisableListenerLogs: bool,
    Type: str,
    Path: str,
    JSONPath: str,
    TextPath: str,
  }),
});

/** `structs.CheckServiceNode`: one element of Consul's health answer. */
export const HEALTH_SERVICE_ENTRY: FieldType = struct({
  Node: struct({
    ID: str,
    Node: str,
    Address: str,
    Datacenter: str,
    Partition: str,
    PeerName: str,
    TaggedAddresses: stringMap,
    Meta: stringMap,
  }),
  Service: struct({
    Kind: str,
    ID: str,
    Service: str,
    Tags: strings,
    Address: str,
    TaggedAddresses: { kind: 'map', value: struct({ Address: str, Port: int }) },
    Meta: stringMap,
    Port: int,
    SocketPath: str,
    Weights: struct({ Passing: int, Warning: int }),
    EnableTagOverride: bool,
    Proxy: proxy,
    Connect: struct({ Native: bool }),
    PeerName: str,
  }),
  Checks: structList({
    Node: str,
    CheckID: str,
    Name: str,
    Status: str,
    Notes: str,
    Output: str,
    ServiceID: str,
    ServiceName: str,
    ServiceTags: strings,
    Type: str,
    Interval: str,
    Timeout: str,
    ExposedPort: int,
    PeerName: str,
  }),
});
