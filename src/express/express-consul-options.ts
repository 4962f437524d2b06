import type { DiscoveryOptions } from '../client/discovery-options';
import type { AdapterSectionOptions } from '../config/options';

/** What the caller passes to `expressConsul()`. Every field is optional except `service.name`. */
export interface ExpressConsulOptions extends AdapterSectionOptions {
  /** How this process finds and calls other services (`service(name)`, `fetch()`). */
  readonly discovery?: DiscoveryOptions;
}
