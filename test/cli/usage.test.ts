import { expectOneLineError, runCli } from './run-cli';

// Each CLI run is a fresh Node process compiling TypeScript on a shared 2-core machine: seconds each.
jest.setTimeout(120_000);

describe('express-consul usage', () => {
  it('exits 1 with one line on stderr for bad usage or a bad Consul address', async () => {
    const cases: [string[], Record<string, string | undefined>, RegExp][] = [
      [[], {}, /no command given/],
      [['nonsense'], {}, /unknown command 'nonsense'/],
      [['instances'], {}, /usage: express-consul instances NAME \(missing argument\)/],
      [['services', 'extra'], {}, /too many arguments/],
      [['services', '--bogus'], {}, /--bogus/],
      [['status', 'ftp://127.0.0.1/status'], {}, /only http and https/],
      [['services'], { CONSUL_HTTP_ADDR: 'ftp://127.0.0.1:1' }, /: CONSUL_HTTP_ADDR: .*ftp:/],
      [
        ['instances', 'x'],
        { CONSUL_HTTP_TOKEN: undefined, CONSUL_HTTP_TOKEN_FILE: '/nonexistent/token' },
        /: CONSUL_HTTP_TOKEN_FILE: .*a readable file/,
      ],
    ];
    const results = await Promise.all(cases.map(([args, env]) => runCli(args, env)));
    results.forEach((result, i) => {
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      expectOneLineError(result, cases[i]![2]);
    });
  });

  it('names a malformed CONSUL_HTTP_TOKEN without printing it', async () => {
    const secret = 'c0ffee-secret-part-one\nsecond-line';
    const result = await runCli(['services'], { CONSUL_HTTP_TOKEN: secret });
    expect(result.code).toBe(1);
    expectOneLineError(result, /: CONSUL_HTTP_TOKEN: .*single line/);
    expect(result.stderr).not.toContain('c0ffee-secret');
    expect(result.stderr).not.toContain('second-line');
  });

  it('--help lists the commands, the environment and the exit codes', async () => {
    const [help, commandHelp] = await Promise.all([
      runCli(['--help']),
      runCli(['watch', '--help']),
    ]);
    expect(help.code).toBe(0);
    expect(help.stderr).toBe('');
    for (const text of [
      'status URL',
      'services',
      'instances NAME',
      'watch NAME',
      'chain NAME',
      '--json',
      'CONSUL_HTTP_ADDR',
      'CONSUL_HTTP_TOKEN',
      'CONSUL_CACERT',
      '0  ok',
      '1  bad usage',
      '2  Consul or the status URL unreachable',
      '3  ACL denied',
      '4  unknown service',
      '5  garbage answer',
      'or a chain the library refuses',
    ])
      expect(help.stdout).toContain(text);
    expect(commandHelp.code).toBe(0);
    expect(commandHelp.stdout).toMatch(/^Usage: express-consul watch NAME \[--json\]/);
  });
});
