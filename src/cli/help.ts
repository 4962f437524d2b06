import type { Command } from './command';

/** The text of `express-consul --help`. */
export function helpText(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((c) => `${c.name} ${c.usage}`.length));
  const lines = commands.map((c) => `  ${`${c.name} ${c.usage}`.padEnd(width)}  ${c.summary}`);
  return `Usage: express-consul <command> [--json]

Inspect services registered in Consul and what an express-consul service sees of its upstreams.

Commands:
${lines.join('\n')}

Options:
  --json      machine-readable output on stdout (watch: one JSON object per line)
  -h, --help  this help

Environment (Consul's own conventions):
  CONSUL_HTTP_ADDR        agent address (default http://127.0.0.1:8500)
  CONSUL_HTTP_TOKEN       ACL token, sent only in the X-Consul-Token header, never printed
  CONSUL_HTTP_TOKEN_FILE  file holding the ACL token
  CONSUL_HTTP_SSL         use https when CONSUL_HTTP_ADDR has no scheme
  CONSUL_HTTP_SSL_VERIFY  false skips certificate verification
  CONSUL_CACERT, CONSUL_CLIENT_CERT, CONSUL_CLIENT_KEY, CONSUL_TLS_SERVER_NAME  TLS files and name
  NO_COLOR                no colours even on a terminal
  The status URL belongs to the service: no Consul token is ever sent to it.

Exit codes:
  0  ok
  1  bad usage (unknown command or flag, missing argument, invalid address or variable)
  2  Consul or the status URL unreachable (refused, timed out, 5xx from Consul, 502/503/504)
  3  ACL denied (401/403, or ACLs hide every service from the token used)
  4  unknown service (no instance registered under that name)
  5  garbage answer (not JSON, wrong shape, unexpected status), or a chain the library refuses
  130  interrupted (Ctrl-C) before the command finished; watch ends on Ctrl-C with 0
`;
}
