// Which folder may import which: the layering docs/ARCHITECTURE.md describes, checked on every
// relative import of the tracked TypeScript files. src/ is the package and stands alone; tests and
// benchmarks share harness/ and never import each other; config/ sits below the parts it configures.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';

const ROOT = join(__dirname, '../..');
const IMPORT = /(?:from|import|require\(|jest\.mock\()\s*['"](\.{1,2}\/[^'"]+)['"]/g;

/** Every relative import of the tracked .ts files, as [importing file, imported path] from ROOT. */
function readImports(): [string, string][] {
  const files = execFileSync('git', ['ls-files', '*.ts'], { cwd: ROOT, encoding: 'utf8' })
    .split('\n')
    .filter((file) => file !== '');
  const edges: [string, string][] = [];
  for (const file of files) {
    const text = readFileSync(join(ROOT, file), 'utf8');
    for (const match of text.matchAll(IMPORT)) {
      edges.push([file, relative(ROOT, normalize(join(ROOT, dirname(file), match[1]!)))]);
    }
  }
  return edges;
}

const IMPORTS = readImports();

const under = (folder: string) => (path: string) =>
  path === folder || path.startsWith(`${folder}/`);

/** The imports from files in `from` that reach into any of `forbidden`. */
function crossing(from: string, forbidden: readonly string[]): string[] {
  return IMPORTS.filter(
    ([file, target]) => under(from)(file) && forbidden.some((f) => under(f)(target)),
  ).map(([file, target]) => `${file} -> ${target}`);
}

describe('layout: who imports whom', () => {
  it('finds the imports it checks', () => {
    // A broken pattern would find nothing and pass every rule below.
    expect(crossing('test', ['src']).length).toBeGreaterThan(100);
    expect(crossing('bench', ['harness']).length).toBeGreaterThan(0);
  });

  it('src/ imports nothing outside src/', () => {
    expect(crossing('src', ['test', 'bench', 'harness', 'examples', 'scripts'])).toEqual([]);
  });

  it('tests and benchmarks never import each other; both may use harness/', () => {
    expect(crossing('test', ['bench'])).toEqual([]);
    expect(crossing('bench', ['test'])).toEqual([]);
    expect(crossing('harness', ['test', 'bench'])).toEqual([]);
  });

  it('config/ imports nothing from the parts it configures', () => {
    expect(
      crossing('src/config', ['src/client', 'src/express', 'src/watch', 'src/traffic']),
    ).toEqual([]);
  });
});
