import { startConsul } from '../../src/testing';
import { dockerState, exec } from '../docker/docker-cli';

// Container mode against a real engine (scripts/docker.sh makes sure one runs and the image exists).
describe('startConsul() in container mode', () => {
  it('bridge: publishes the HTTP port on 127.0.0.1 only, has a leader, and stop() removes the container', async () => {
    const before = (await dockerState()).containers;
    const started = Date.now();
    const consul = await startConsul({ mode: 'container', network: 'bridge' });
    const readyMs = Date.now() - started;
    const [id] = (await dockerState()).containers.filter((c) => !before.includes(c));
    try {
      expect(consul.mode).toBe('container');
      expect(id).toBeDefined();
      const bindings = JSON.parse(
        await exec('docker', ['inspect', '--format', '{{json .HostConfig.PortBindings}}', id!]),
      ) as Record<string, { HostIp: string; HostPort: string }[]>;
      expect(Object.keys(bindings)).toEqual(['8500/tcp']);
      expect(bindings['8500/tcp']!.map((binding) => binding.HostIp)).toEqual(['127.0.0.1']);
      const leader = (await (await fetch(`${consul.address}/v1/status/leader`)).json()) as string;
      expect(leader).not.toBe('');
      const image = (
        await exec('docker', ['inspect', '--format', '{{.Config.Image}}', id!])
      ).trim();
      expect(image).toBe('hashicorp/consul:1.16.3');
    } finally {
      await consul.stop();
    }
    await consul.stop();
    expect((await dockerState()).containers).toEqual(before);
    process.stdout.write(
      `[testing] bridge container ${id!.slice(0, 12)} ready in ${readyMs} ms at ${consul.address}; removed by stop()\n`,
    );
  }, 120_000);

  it('host: the agent serves on 127.0.0.1 only and `await using` removes the container', async () => {
    const before = (await dockerState()).containers;
    {
      await using consul = await startConsul({ mode: 'container', network: 'host' });
      const self = (await (await fetch(`${consul.address}/v1/agent/self`)).json()) as {
        DebugConfig: { ClientAddrs: string[]; BindAddr: string };
      };
      expect(self.DebugConfig.ClientAddrs).toEqual(['127.0.0.1']);
      expect(self.DebugConfig.BindAddr).toBe('127.0.0.1');
      const [id] = (await dockerState()).containers.filter((c) => !before.includes(c));
      const mode = (
        await exec('docker', ['inspect', '--format', '{{.HostConfig.NetworkMode}}', id!])
      ).trim();
      expect(mode).toBe('host');
    }
    expect((await dockerState()).containers).toEqual(before);
  }, 120_000);
});
