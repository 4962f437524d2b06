import { promtool } from './prometheus-server';

// The shipped rules (deploy/prometheus/alerts.yml) through Debian's promtool: valid, and each alert's
// unit tests in alerts.test.yml pass (they fire on the failure they name, stay quiet otherwise).
describe('deploy/prometheus/alerts.yml', () => {
  it('passes promtool check rules', () => {
    const { status, output } = promtool(['check', 'rules', 'alerts.yml']);
    expect({ status, output }).toEqual({
      status: 0,
      output: expect.stringContaining('SUCCESS: 6 rules found'),
    });
  });

  it('passes its promtool unit tests (alerts.test.yml)', () => {
    const { status, output } = promtool(['test', 'rules', 'alerts.test.yml']);
    expect({ status, output }).toEqual({ status: 0, output: expect.stringContaining('SUCCESS') });
  });
});
