import { fixtureApp, spawnHost } from '../support/host-process';

// The app fails to load before the host touches storage, so no Azurite is needed: nothing listens here.
const unusedStorage =
  'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;' +
  'BlobEndpoint=http://127.0.0.1:9/devstoreaccount1;QueueEndpoint=http://127.0.0.1:9/devstoreaccount1;TableEndpoint=http://127.0.0.1:9/devstoreaccount1;';

describe('apps the host cannot run: the process exits non-zero with a clear message', () => {
  it('refuses an app that registers no functions', async () => {
    const host = spawnHost({ app: fixtureApp('empty'), storage: unusedStorage });
    const exit = await host.exited;
    expect(exit).toEqual({ code: 1, signal: null });
    expect(host.stderrLines().join('\n')).toContain('registered no functions');
    expect(host.stdoutLines().some((line) => line.includes('Host started'))).toBe(false);
  });

  it('refuses an app with a Storage queue trigger and names the binding type', async () => {
    const host = spawnHost({ app: fixtureApp('unsupported'), storage: unusedStorage });
    const exit = await host.exited;
    expect(exit.code).not.toBe(0);
    expect(exit.signal).toBeNull();
    const stderr = host.stderrLines().join('\n');
    expect(stderr).toContain('queueTrigger');
    expect(stderr).toContain('ProcessWorkItem');
    expect(host.stdoutLines().some((line) => line.includes('Host started'))).toBe(false);
  });

  it('refuses a folder that is not a Functions app', async () => {
    const host = spawnHost({ app: fixtureApp('no-such-app'), storage: unusedStorage });
    const exit = await host.exited;
    expect(exit.code).not.toBe(0);
    expect(host.stderrLines().join('\n')).toMatch(/matches no file/);
  });
});
