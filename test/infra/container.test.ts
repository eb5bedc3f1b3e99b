/**
 * The Dockerfile, checked statically (no registry is reachable here, so it is never built in tests):
 * parsed with dockerfile-ast, the stages, base image, what reaches the final image, the user it runs as.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DockerfileParser, type Dockerfile } from 'dockerfile-ast';

const ROOT = path.resolve(__dirname, '..', '..');
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');
const BASE_IMAGE = 'mcr.microsoft.com/azure-functions/node:4-node20';

interface Stage {
  image: string;
  name?: string;
  instructions: { keyword: string; args: string; flags: string[] }[];
}

function stagesOf(dockerfile: Dockerfile): Stage[] {
  const stages: Stage[] = [];
  for (const instruction of dockerfile.getInstructions()) {
    const keyword = instruction.getKeyword();
    const args = instruction.getArgumentsContent() ?? '';
    if (keyword === 'FROM') {
      const [image, as, name] = args.split(/\s+/);
      stages.push({ image, ...(as?.toUpperCase() === 'AS' ? { name } : {}), instructions: [] });
      continue;
    }
    const flags = 'getFlags' in instruction ? (instruction as unknown as { getFlags(): { toString(): string }[] }).getFlags().map((flag) => flag.toString()) : [];
    stages[stages.length - 1].instructions.push({ keyword, args, flags });
  }
  return stages;
}

/** What the image must be: the official Functions Node 20 base, a build stage, a final stage with only the package, a non-root user. */
function imageViolations(source: string): string[] {
  const violations: string[] = [];
  const stages = stagesOf(DockerfileParser.parse(source));
  if (stages.length < 2) violations.push('no separate build stage');
  const final = stages[stages.length - 1];
  if (final === undefined) return ['no FROM'];
  if (final.image !== BASE_IMAGE) violations.push(`final stage is ${final.image}, not ${BASE_IMAGE}`);
  for (const stage of stages) if (/:latest$|^[^:]+$/.test(stage.image)) violations.push(`${stage.image}: no pinned tag`);
  for (const { keyword, args } of final.instructions) {
    if (keyword === 'RUN' && /\bnpm (ci|install|i)\b/.test(args) && !/--omit=dev/.test(args)) violations.push('final stage installs dev dependencies');
    if (keyword === 'ADD') violations.push('ADD in the final stage (COPY only)');
  }
  const copies = final.instructions.filter((instruction) => instruction.keyword === 'COPY');
  for (const copy of copies) {
    if (!copy.flags.some((flag) => /^--from=/.test(flag))) violations.push(`final stage copies from the build context: ${copy.args}`);
  }
  const build = stages.find((stage) => stage.name !== undefined && copies.some((copy) => copy.flags.includes(`--from=${stage.name}`)));
  if (build === undefined) violations.push('the final stage copies from no named build stage');
  else if (!build.instructions.some((instruction) => instruction.keyword === 'RUN' && /infra\/package\.js|npm run package/.test(instruction.args))) violations.push('the build stage does not run the packaging (infra/package.js)');
  for (const stage of stages) {
    for (const instruction of stage.instructions.filter((candidate) => candidate.keyword === 'COPY' && !candidate.flags.some((flag) => flag.startsWith('--from=')))) {
      for (const source of instruction.args.split(/\s+/).slice(0, -1)) {
        if (/^(\.|emulator|test|bench|bin|node_modules|dist|local\.settings\.json)(\/|$)/.test(source)) violations.push(`copies ${source} into the image`);
      }
    }
  }
  const user = [...final.instructions].reverse().find((instruction) => instruction.keyword === 'USER');
  if (user === undefined || /^(root|0)(:|$)/.test(user.args)) violations.push('the final stage runs as root');
  return violations;
}

describe('Dockerfile', () => {
  const source = read('Dockerfile');

  it('builds on the official Azure Functions Node 20 image, in two stages, and the final image holds only the package, run by a non-root user', () => {
    expect(imageViolations(source)).toEqual([]);
  });

  it('the final stage serves on 8080 with the Functions host settings a container needs', () => {
    const stages = stagesOf(DockerfileParser.parse(source));
    const final = stages[stages.length - 1];
    const env = final.instructions.filter((instruction) => instruction.keyword === 'ENV').map((instruction) => instruction.args).join(' ');
    expect(env).toMatch(/AzureWebJobsScriptRoot=\/home\/site\/wwwroot/);
    expect(env).toMatch(/FUNCTIONS_WORKER_RUNTIME=node/);
    expect(env).toMatch(/ASPNETCORE_URLS=http:\/\/\+:8080/);
    expect(final.instructions.find((instruction) => instruction.keyword === 'EXPOSE')?.args).toBe('8080');
    const copy = final.instructions.find((instruction) => instruction.keyword === 'COPY');
    expect(copy?.args).toBe('/package /home/site/wwwroot');
  });

  it('the build stage copies every folder the app compiles from, and what infra/package.js needs', () => {
    const build = stagesOf(DockerfileParser.parse(source))[0];
    const copied = build.instructions.filter((instruction) => instruction.keyword === 'COPY').flatMap((instruction) => instruction.args.split(/\s+/).slice(0, -1));
    const packageScript = read('infra/package.js');
    const appFolders = /const APP_FOLDERS = \[([^\]]+)\]/.exec(packageScript)?.[1].match(/'(\w+)'/g)?.map((name) => name.slice(1, -1)) ?? [];
    expect(appFolders.length).toBeGreaterThan(2);
    for (const folder of appFolders) expect(copied).toContain(folder);
    for (const file of ['package.json', 'package-lock.json', 'tsconfig.json', 'host.json', 'infra/package.js']) expect(copied).toContain(file);
  });

  it('the rule catches a root user, a dev install in the final stage, a copy of the repository, and another base image', () => {
    const broken = source
      .replace('USER 10001:10001', 'USER root')
      .replace('COPY --from=build /package /home/site/wwwroot', 'COPY . /home/site/wwwroot\nRUN npm ci')
      .replace(/^FROM mcr\.microsoft\.com\/azure-functions\/node:4-node20$/m, 'FROM node:latest');
    expect(imageViolations(broken)).toEqual(
      expect.arrayContaining([
        'the final stage runs as root',
        'final stage installs dev dependencies',
        'final stage copies from the build context: . /home/site/wwwroot',
        `final stage is node:latest, not ${BASE_IMAGE}`,
        'node:latest: no pinned tag',
      ]),
    );
  });

  it('.dockerignore keeps local state, builds and settings out of the build context', () => {
    const ignored = read('.dockerignore').split('\n').map((line) => line.trim());
    for (const entry of ['.git', 'node_modules', 'dist', 'build', '.kluis', 'local.settings.json']) expect(ignored).toContain(entry);
  });
});
