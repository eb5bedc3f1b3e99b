import { spawnSync } from 'node:child_process';

/** Installs a Debian package with apt-get (as root, or by passwordless sudo); true when apt-get said it did. */
export function aptInstall(pkg: string, log: (line: string) => void): boolean {
  log(`${pkg} is not installed: installing the Debian package \`${pkg}\` with apt-get …`);
  const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const apt = (args: string[]) => {
    const [command, ...rest] = asRoot ? ['apt-get', ...args] : ['sudo', '-n', 'apt-get', ...args];
    return spawnSync(command, rest, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  };
  apt(['update', '-qq']);
  return apt(['install', '-y', '-qq', pkg]).status === 0;
}
