/**
 * Every state of a registration, in the order of its life: the one list the registration, the
 * `registration_state` metric and the CLI's reading of a status document all use.
 */
export const REGISTRATION_STATES = [
  'idle',
  'registering',
  'registered',
  'deregistering',
  'deregistered',
] as const;

/** Where a registration stands. */
export type RegistrationState = (typeof REGISTRATION_STATES)[number];
