// Parity of our filter evaluator with Consul's own (go-bexpr v0.1.2 inside Consul 1.16.3): the same
// expression must select the same instances from a real agent's health answer, and an expression
// Consul refuses must be refused by us too. The expressions cover every operator, the precedence
// rules, the absent-map-key quirk, Go integer coercion and Go regexps.
import { FilterExpressionError } from '../../src/errors';
import { parseFilterExpression } from '../../src/traffic/filter-expression';

const consul = (): string => process.env.CONSUL_HTTP_ADDR!;
const service = `filter-parity-${process.pid}`;
const COUNT = 20;

interface Entry {
  Service: { ID: string };
}

function registration(i: number): Record<string, unknown> {
  const tags = [
    ...(i % 2 === 0 ? ['v1'] : ['v2']),
    ...(i % 3 === 0 ? ['canary'] : []),
    ...(i % 4 === 1 ? ['blue'] : []),
  ];
  const meta: Record<string, string> = {};
  if (i % 5 !== 4) meta.version = String(1 + (i % 3));
  if (i % 6 !== 5) meta.env = i % 2 === 0 ? 'prod' : 'staging';
  meta.zone = ['a', 'b', 'A'][i % 3]!;
  if (i % 4 === 0) meta['build-id'] = 'a b';
  if (i % 7 === 3) meta.owner = 'team-payments';
  if (i % 8 === 2) meta.lang = 'é';
  if (i % 3 === 1) meta.multi = i % 2 === 0 ? 'a\nb' : 'xa\nb a';
  return {
    ID: `par-${i}`,
    Name: service,
    Address: `127.0.0.${i + 1}`,
    Port: 9000 + i,
    // Instance 10 has no tags and no meta at all: empty lists and absent keys.
    Tags: i === 10 ? [] : tags,
    Meta: i === 10 ? {} : meta,
    Weights: { Passing: (i % 5) + 1, Warning: 1 },
    EnableTagOverride: i % 4 === 0,
    Check: {
      Name: 'ttl',
      TTL: '10m',
      Status: i % 7 === 0 ? 'critical' : i % 5 === 0 ? 'warning' : 'passing',
    },
  };
}

async function health(filter?: string): Promise<{ status: number; ids: string[]; body: string }> {
  const query = filter === undefined ? '' : `?filter=${encodeURIComponent(filter)}`;
  const response = await fetch(`${consul()}/v1/health/service/${service}${query}`);
  const body = await response.text();
  if (response.status !== 200) return { status: response.status, ids: [], body };
  const entries = JSON.parse(body) as Entry[];
  return { status: 200, ids: entries.map((e) => e.Service.ID).sort(), body };
}

const SELECTING = [
  'Service.Meta.version == "2"',
  'Service.Meta.version != "2"',
  'Service.Meta.version == 2',
  '"canary" in Service.Tags',
  'Service.Tags contains canary',
  '"canary" not in Service.Tags',
  'Service.Tags not contains v1 and Service.Meta.version != "1"',
  'Service.Tags is empty',
  'Service.Tags is not empty',
  'Service.Meta is empty',
  'env in Service.Meta',
  'env not in Service.Meta',
  'Service.Meta.env == prod and Service.Meta.version == "1"',
  'Service.Meta.env == prod or Service.Meta.zone == b',
  'Service.Meta.env == prod or Service.Meta.env == staging and Service.Port == 9003',
  '(Service.Meta.env == prod or Service.Meta.env == staging) and Service.Port == 9003',
  'not Service.Meta.env == prod',
  'not (Service.Meta.env == prod or "canary" in Service.Tags)',
  'not not Service.Meta.env == prod',
  'Service.Meta.missing == x',
  'Service.Meta.missing != x',
  'Service.Meta.missing matches "x"',
  'Service.Meta.missing not matches "x"',
  'Service.Meta.missing contains x',
  'Service.Meta.missing not contains x',
  'Service.Meta.version matches `^[12]$`',
  'Service.ID matches "^par-1[0-9]$"',
  'Service.ID matches "-1"',
  'Service.ID not matches "[02468]$"',
  'Service.Meta.zone matches "(?i)^a$"',
  'Service.Meta.zone matches "^a$"',
  'Service.Meta.owner matches "team-\\\\w+"',
  // Go regexp details, checked by Consul's own engine:
  'Service.Meta.multi matches "a$"',
  'Service.Meta.multi matches "(?m)a$"',
  'Service.Meta.multi matches "^b"',
  'Service.Meta.multi matches "(?m)^b"',
  'Service.Meta.multi matches "a.b"',
  'Service.Meta.multi matches "(?s)a.b"',
  'Service.ID matches "\\bpar\\b"', // in double quotes \b is a backspace (Go string escape)
  'Service.ID matches `\\bpar\\b`',
  'Service.Meta.multi matches `\\Aa`',
  'Service.ID matches `^par-\\d{2}$`',
  'Service.ID matches `\\Qpar-1\\E`',
  'Service.Meta.lang matches `^\\pL$`',
  'Service.ID matches "^par-\\\\d{2}$"', // the same regex, its backslash escaped for the string
  'Service.ID matches "^par-(1|2)+$"',
  'Service.ID matches "par-1{2}"',
  'Service.Meta.owner matches "^[[:alpha:]]+-[[:lower:]]+$"',
  'Service.Meta.lang matches "(?i)É"',
  'Service.Meta.zone matches "[^a]"',
  'Service.Meta.zone matches "(?i:A)"',
  'Service["Meta"].zone matches `^(a|b)$`',
  'Service.Meta["build-id"] == "a b"',
  'Service.Meta["build-id"] != `a b`',
  'Service.Meta.lang == "\\u00e9"',
  'Service.Meta.lang == "\\xc3\\xa9"',
  'Service.Port == 9005',
  'Service.Port != 9005',
  'Service.Port == "0x2329"',
  'Service.Port == "011"',
  'Service.Weights.Passing == 5',
  'Service.EnableTagOverride == true',
  'Service.EnableTagOverride != T',
  'Checks.Status == critical',
  'Checks.Status != passing',
  'Checks.Status == warning and Service.Meta.env == prod',
  'Checks.CheckID contains "service:"',
  'Checks.CheckID == serfHealth',
  'Service.Address == "127.0.0.5"',
  'Service.ID contains "1"',
  '"1" in Service.ID',
  'Service.Kind == ""',
  'Node.Node != "x"',
  'Node.Meta is not empty',
  '  (Service.Meta.env == prod)  ',
];

const REFUSED = [
  'Service.Foo == 1',
  'Service.Meta.a.b == 1',
  'Service.Port matches "9"',
  'Service.Port == 1.5',
  'Service.Port == "08"',
  'Service.Meta.x is empty',
  'Service.Weights == 1',
  'Service.Tags == v1',
  'Service.EnableTagOverride == yes',
  'Service.ID == par-1',
  '(Service.ID == a',
  'Service.ID == "a\\"b"',
  'Service.ID == "\\q"',
  'Service.Meta.a == 1 or(Service.Meta.a == 2)',
  'Service.Tags contains"v1"',
  'Service.Meta.version == 01',
  '"x" in "y"',
  // Regex escapes that are not Go string escapes, inside double quotes:
  'Service.Meta.multi matches "\\Aa"',
  'Service.ID matches "^par-\\d{2}$"',
  'Service.Meta.lang matches "^\\pL$"',
  'Service.ID matches "("',
  'Service.ID matches "(a)\\\\1"',
  'Service.ID matches "(?=a)"',
  'Service.ID matches "a**"',
  'Service.ID matches "x{1001}"',
  '   ',
];

describe('filter expressions: parity with Consul', () => {
  let all: Entry[];

  beforeAll(async () => {
    for (let i = 0; i < COUNT; i++) {
      const response = await fetch(`${consul()}/v1/agent/service/register`, {
        method: 'PUT',
        body: JSON.stringify(registration(i)),
      });
      expect({ status: response.status, body: await response.text() }).toEqual({
        status: 200,
        body: '',
      });
    }
    const response = await fetch(`${consul()}/v1/health/service/${service}`);
    all = (await response.json()) as Entry[];
    expect(all).toHaveLength(COUNT);
  });

  afterAll(async () => {
    for (let i = 0; i < COUNT; i++) {
      await fetch(`${consul()}/v1/agent/service/deregister/par-${i}`, { method: 'PUT' });
    }
  });

  it.each(SELECTING)('selects what Consul selects: %s', async (expression) => {
    const fromConsul = await health(expression);
    expect(fromConsul).toMatchObject({ status: 200 });
    const filter = parseFilterExpression(expression);
    const ours = all
      .filter((entry) => filter.matches(entry))
      .map((entry) => entry.Service.ID)
      .sort();
    expect(ours).toEqual(fromConsul.ids);
  });

  it('the expressions above are not trivial: most select some instances but not all', async () => {
    let partial = 0;
    for (const expression of SELECTING) {
      const { ids } = await health(expression);
      if (ids.length > 0 && ids.length < COUNT) partial++;
    }
    // Guards against a vacuous parity (both sides selecting nothing, or everything).
    expect(partial).toBeGreaterThanOrEqual(Math.ceil(SELECTING.length / 2));
  });

  it.each(REFUSED)('refuses what Consul refuses: %s', async (expression) => {
    const fromConsul = await health(expression);
    // Consul 1.16.3 answers a filter it refuses with 500 and go-bexpr's message, not 400.
    expect(fromConsul.status).toBe(500);
    expect(fromConsul.body).toContain('Failed to create boolean expression evaluator');
    expect(() => parseFilterExpression(expression)).toThrow(FilterExpressionError);
  });
});
