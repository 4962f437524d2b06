import {
  connectionBudget,
  H2_STREAMS,
  lanePlan,
  POLL_PIPELINING,
  requireTrafficRoom,
} from '../../src/consul/connection-budget';
import express from 'express';
import { createDiscovery, expressConsul } from '../../src';
import { resolveConsulConnection } from '../../src/consul/consul-environment';
import { ConfigError } from '../../src/errors';

describe('connection budget', () => {
  it('keeps a few connections for short calls apart from the watches', () => {
    expect(connectionBudget(32)).toEqual({ total: 32, watch: 24, poll: 2, control: 4, short: 4 });
    expect(connectionBudget(8)).toEqual({ total: 8, watch: 5, poll: 2, control: 1, short: 2 });
    expect(connectionBudget(5)).toEqual({ total: 5, watch: 2, poll: 1, control: 1, short: 2 });
  });

  it('HTTP/1.1 spends the budget on connections; h2 spends streams of one connection per lane', () => {
    const budget = connectionBudget(32);
    expect(lanePlan(budget, 'http/1.1')).toEqual({
      protocol: 'http/1.1',
      short: { connections: 4, pipelining: 1 },
      control: { connections: 4, pipelining: 1 },
      watch: { connections: 22, pipelining: 1 },
      poll: { connections: 2, pipelining: POLL_PIPELINING },
    });
    // 4 x 250 streams: a thousand blocking queries on 4 connections, their reads included (the
    // poll lane has none of its own), 6 in all of the 32.
    expect(H2_STREAMS).toBe(250);
    expect(lanePlan(budget, 'h2')).toEqual({
      protocol: 'h2',
      short: { connections: 1, pipelining: H2_STREAMS },
      control: { connections: 1, pipelining: H2_STREAMS },
      watch: { connections: 4, pipelining: H2_STREAMS },
      poll: { connections: 0, pipelining: H2_STREAMS },
    });
    // Never a lane above its HTTP/1.1 share: 5 connections leave the watches 2.
    expect(lanePlan(connectionBudget(5), 'h2').watch).toEqual({
      connections: 2,
      pipelining: H2_STREAMS,
    });
  });

  it('consul.http2 defaults to true, is offered to https agents only, and must be a boolean', () => {
    expect(resolveConsulConnection({ address: 'https://127.0.0.1:8501' }, {}).http2).toBe(true);
    expect(
      resolveConsulConnection({ address: 'https://127.0.0.1:8501', http2: false }, {}).http2,
    ).toBe(false);
    expect(resolveConsulConnection({ address: 'http://127.0.0.1:8500' }, {}).http2).toBe(false);
    let thrown: unknown;
    try {
      resolveConsulConnection({ http2: 'yes' as unknown as boolean }, {});
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as ConfigError).path).toBe('consul.http2');
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

  it('with traffic management, refuses a watch lane without a blocking connection each for its 3 lists and the check watch', () => {
    // 8: 3 blocking watch connections (5 watch, 2 of them for plain reads): one of the four
    // blocking queries would wait in the lane's queue for another's whole wait.
    expect(connectionBudget(8).watch - connectionBudget(8).poll).toBe(3);
    expect(() => requireTrafficRoom(connectionBudget(8))).toThrow(ConfigError);
    expect(() => requireTrafficRoom(connectionBudget(8))).toThrow(
      />= 9 with discovery.trafficManagement/,
    );
    expect(() => requireTrafficRoom(connectionBudget(9))).not.toThrow();
    expect(() => requireTrafficRoom(connectionBudget(32))).not.toThrow();
  });

  it('both edges refuse it at start-up, naming consul.maxConnections; without traffic management 8 stays valid', () => {
    const consul = { address: 'http://127.0.0.1:1', maxConnections: 8 };
    for (const start of [
      () => createDiscovery({ consul, trafficManagement: true, metrics: false }),
      () =>
        expressConsul(express(), {
          service: { name: 'web' },
          consul,
          discovery: { trafficManagement: true },
          metrics: false,
        }),
    ]) {
      let thrown: unknown;
      try {
        start();
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(ConfigError);
      expect((thrown as ConfigError).path).toBe('consul.maxConnections');
    }
    const plain = createDiscovery({ consul, metrics: false });
    return plain.close();
  });
});
