import { connectionBudget } from '../../src/consul/connection-budget';
import { resolveConsulConnection } from '../../src/consul/consul-environment';
import { ConfigError } from '../../src/errors';

describe('connection budget', () => {
  it('keeps a few connections for short calls apart from the watches', () => {
    expect(connectionBudget(32)).toEqual({ total: 32, watch: 24, poll: 2, control: 4, short: 4 });
    expect(connectionBudget(8)).toEqual({ total: 8, watch: 5, poll: 2, control: 1, short: 2 });
    expect(connectionBudget(5)).toEqual({ total: 5, watch: 2, poll: 1, control: 1, short: 2 });
  });

  it('consul.maxConnections, else EXPRESS_CONSUL_MAX_CONNECTIONS, else 32', () => {
    expect(resolveConsulConnection({}, {}).maxConnections).toBe(32);
    expect(
      resolveConsulConnection({}, { EXPRESS_CONSUL_MAX_CONNECTIONS: '12' }).maxConnections,
    ).toBe(12);
    expect(
      resolveConsulConnection({ maxConnections: 8 }, { EXPRESS_CONSUL_MAX_CONNECTIONS: '12' })
        .maxConnections,
    ).toBe(8);
  });

  it.each([
    [{ maxConnections: 4 }, {}, 'consul.maxConnections'],
    [{ maxConnections: 5.5 }, {}, 'consul.maxConnections'],
    [{}, { EXPRESS_CONSUL_MAX_CONNECTIONS: 'lots' }, 'EXPRESS_CONSUL_MAX_CONNECTIONS'],
    [{}, { EXPRESS_CONSUL_MAX_CONNECTIONS: '2' }, 'EXPRESS_CONSUL_MAX_CONNECTIONS'],
  ])('refuses %p / %p naming %s', (options, env, path) => {
    let thrown: unknown;
    try {
      resolveConsulConnection(options, env);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as ConfigError).path).toBe(path);
  });
});
