import { AbortedError, RequestTimeoutError, RetriesExhaustedError, UpstreamError } from '../errors';
import { describeError } from '../error-summary';
import type { AttemptResult } from './attempt';
import type { FailReason } from './request-outcome';

/** What a call knew when the retry decision said stop: the facts its error reports. */
export interface FailedCall {
  readonly service: string;
  /** The instance of the last attempt. */
  readonly instanceId: string;
  readonly attempts: number;
  readonly deadlineMs: number;
  readonly tryTimeoutMs: number;
  /** Whether some attempt may have reached an instance. */
  readonly mayHaveBeenProcessed: boolean;
}

/**
 * The typed error a call ends with when the decision (retry-decision.ts) is to stop for `reason`
 * after `outcome`: each reason maps to one error class, which carries the reason.
 */
export function callFailure(reason: FailReason, outcome: AttemptResult, call: FailedCall): Error {
  const { service, mayHaveBeenProcessed } = call;
  const cause = outcome.kind === 'response' ? undefined : outcome.error;
  const lastStatus = outcome.kind === 'response' ? outcome.response.statusCode : undefined;
  const what =
    lastStatus !== undefined
      ? `status ${lastStatus}`
      : outcome.kind === 'try_timeout'
        ? `attempt timed out after ${call.tryTimeoutMs} ms`
        : describeError(cause);
  const details = {
    ...(lastStatus !== undefined && { lastStatus }),
    ...(cause !== undefined && { cause }),
    mayHaveBeenProcessed,
  };
  switch (reason) {
    case 'aborted':
      return new AbortedError(`Call to '${service}' aborted`, { cause, mayHaveBeenProcessed });
    case 'deadline':
      return new RequestTimeoutError(service, call.deadlineMs, 'deadline', {
        mayHaveBeenProcessed,
        reason,
      });
    case 'max_attempts':
      return new RetriesExhaustedError(service, call.attempts, `${what} (maxAttempts reached)`, {
        ...details,
        reason,
      });
    case 'retry_after_beyond_deadline':
      return new RetriesExhaustedError(
        service,
        call.attempts,
        `${what}; Retry-After exceeds the deadline`,
        { ...details, reason },
      );
    case 'budget_exhausted':
      return new RetriesExhaustedError(service, call.attempts, `${what}; retry budget exhausted`, {
        ...details,
        reason,
      });
    case 'not_retryable':
    case 'disabled_by_caller':
    case 'body_not_replayable':
    case 'not_idempotent':
      if (outcome.kind === 'try_timeout') {
        return new RequestTimeoutError(service, call.tryTimeoutMs, 'try', {
          mayHaveBeenProcessed,
          reason,
        });
      }
      return new UpstreamError(service, call.instanceId, what, {
        cause,
        mayHaveBeenProcessed,
        reason,
      });
    default:
      // The rule never fails a finished attempt for the reasons of the call's own start.
      return new UpstreamError(service, call.instanceId, what, { cause, mayHaveBeenProcessed });
  }
}
