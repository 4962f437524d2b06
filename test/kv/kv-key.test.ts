// Keys that name one KV key in the option but another (or none) on the wire are refused at the
// edge: Consul answers `a//b` with a 307 to `a/b` (the watch would only ever see errors), and the
// URL parser turns `a/./b` into `a/b` and `a/b/..` into `a/` before the request leaves.
import { resolveConsulConfigOptions } from '../../src/kv/config-options';
import { readLockOptions } from '../../src/leader/lock-options';
import { ConfigError } from '../../src/errors';

describe('the KV key rule', () => {
  it.each(['app//config', 'app/./config', 'app/.', './app', 'app/config/..', '/app', 'a\nb'])(
    'refuses %j for config() and lock() with a ConfigError naming the key',
    (key) => {
      for (const read of [
        () => resolveConsulConfigOptions(key, {}),
        () => readLockOptions(key, {}, 'lock'),
      ]) {
        const error = (() => {
          try {
            read();
          } catch (caught) {
            return caught;
          }
          return undefined;
        })();
        expect(error).toBeInstanceOf(ConfigError);
        expect((error as ConfigError).message).toMatch(/key/);
      }
    },
  );

  it.each(['app/config', 'app/config/', 'a%2Fb', 'app/.hidden', 'app/..x', 'über/конфиг'])(
    'accepts %j',
    (key) => {
      expect(resolveConsulConfigOptions(key, {}).key).toBe(key);
      expect(readLockOptions(key, {}, 'lock').key).toBe(key);
    },
  );
});
