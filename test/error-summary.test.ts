import { describeError, errorSummary } from '../src/error-summary';
import { ConsulUnavailableError } from '../src/errors';

const TOKEN = '8f2c1e4a-3b5d-4c6e-9f70-1a2b3c4d5e6f';

describe('errorSummary and describeError: the one way an error becomes text', () => {
  it('shows name, code and message of an error, and the code before the message', () => {
    const error = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), {
      code: 'ECONNREFUSED',
    });
    expect(errorSummary(error)).toEqual({
      name: 'Error',
      code: 'ECONNREFUSED',
      message: 'connect ECONNREFUSED 127.0.0.1:1',
    });
    expect(describeError(error)).toBe('ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:1');
    const ours = new ConsulUnavailableError('/v1/agent/self', 'refused');
    expect(describeError(ours)).toBe('EXPRESS_CONSUL_UNAVAILABLE: Consul /v1/agent/self: refused');
    expect(errorSummary('plain')).toEqual({ name: 'Error', message: 'plain' });
  });

  it.each([
    `request to /v1/kv/x?token=${TOKEN} failed`,
    `headers {"X-Consul-Token": "${TOKEN}"}`,
    `x-consul-token: ${TOKEN}`,
    `CONSUL_HTTP_TOKEN=${TOKEN}`,
    `Authorization: Bearer ${TOKEN}`,
  ])('never shows a token a foreign message carries: %s', (message) => {
    const shown = describeError(new Error(message));
    expect(shown).not.toContain(TOKEN);
    expect(shown).toContain('[redacted]');
  });

  it('cuts a long foreign message (a whole response body) short', () => {
    const shown = errorSummary(new Error('x'.repeat(10_000))).message;
    expect(shown.length).toBeLessThanOrEqual(501);
  });
});
