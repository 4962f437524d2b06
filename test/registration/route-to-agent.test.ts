import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { AbortedError } from '../../src/errors';
import { localAddressToward } from '../../src/registration/route-to-agent';

describe('localAddressToward', () => {
  it("gives the source address of the route to the agent: loopback for an agent on this host's loopback", async () => {
    expect(await localAddressToward('http://127.0.0.1:8500')).toBe('127.0.0.1');
    expect(await localAddressToward('http://127.0.0.2:8500')).toBe('127.0.0.1');
    expect(await localAddressToward('https://[::1]:8501')).toBe('::1');
  });

  it('sends nothing to the agent', async () => {
    // A UDP listener on the port the probe "connects" to: it must receive no datagram but ours.
    const listener = createSocket('udp4');
    listener.bind(0, '127.0.0.1');
    await once(listener, 'listening');
    const received: string[] = [];
    const pinged = new Promise<void>((resolve) =>
      listener.on('message', (message) => {
        received.push(message.toString());
        if (message.toString() === 'ping') resolve();
      }),
    );
    const ping = createSocket('udp4');
    try {
      const { port } = listener.address();
      expect(await localAddressToward(`http://127.0.0.1:${port}`)).toBe('127.0.0.1');
      // Sent after the probe on the same path: anything the probe had sent arrives before it.
      ping.send('ping', port, '127.0.0.1');
      await pinged;
      expect(received).toEqual(['ping']);
    } finally {
      ping.close();
      listener.close();
    }
  });

  it('rejects with AbortedError when the caller aborts', async () => {
    await expect(
      localAddressToward('http://127.0.0.1:8500', { signal: AbortSignal.abort() }),
    ).rejects.toBeInstanceOf(AbortedError);
  });
});
