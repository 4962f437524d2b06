// The README is short and points into docs/, so a moved or renamed section must not leave a link
// that goes nowhere: every relative link and #anchor in README.md and docs/*.md must resolve.
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(__dirname, '../..');

/** The pages checked: the README and every Markdown page directly under docs/. */
function pagesOf(repo: string): string[] {
  const docs = join(repo, 'docs');
  return [
    join(repo, 'README.md'),
    ...readdirSync(docs)
      .filter((name) => name.endsWith('.md'))
      .map((name) => join(docs, name)),
  ];
}

/** The text outside fenced code blocks: a `# comment` in a bash block is neither heading nor link. */
function withoutFences(markdown: string): string[] {
  const lines: string[] = [];
  let fence: string | undefined;
  for (const line of markdown.split('\n')) {
    const marker = /^\s*(```+|~~~+)/.exec(line)?.[1];
    if (marker !== undefined && (fence === undefined || marker.startsWith(fence))) {
      fence = fence === undefined ? marker : undefined;
      continue;
    }
    if (fence === undefined) lines.push(line);
  }
  return lines;
}

/**
 * The anchors GitHub gives a page's headings: lower case, punctuation dropped (letters, digits,
 * `-` and `_` kept), spaces to `-`, and `-1`, `-2`... for repeated headings.
 */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of withoutFences(markdown)) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)?.[1];
    if (heading === undefined) continue;
    const text = heading.replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1');
    const slug = text
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

/** Link targets of a page (inline links and images), outside code blocks and code spans. */
function linksOf(markdown: string): string[] {
  const prose = withoutFences(markdown)
    .join('\n')
    .replace(/(`+)[\s\S]*?\1/g, '');
  return [...prose.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map(
    (match) => match[1] ?? '',
  );
}

/** Every relative link of `pages` that names a missing file or a missing #anchor, as `page: target`. */
function brokenLinks(repo: string, pages: readonly string[]): string[] {
  const broken: string[] = [];
  const anchorCache = new Map<string, Set<string>>();
  const anchors = (file: string): Set<string> => {
    let found = anchorCache.get(file);
    if (found === undefined) {
      found = anchorsOf(readFileSync(file, 'utf8'));
      anchorCache.set(file, found);
    }
    return found;
  };
  for (const page of pages) {
    for (const target of linksOf(readFileSync(page, 'utf8'))) {
      // Absolute URLs (https:, mailto:) are someone else's to keep alive.
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue;
      const hash = target.indexOf('#');
      const path = decodeURIComponent(hash < 0 ? target : target.slice(0, hash));
      const anchor = hash < 0 ? undefined : decodeURIComponent(target.slice(hash + 1));
      const file = path === '' ? page : resolve(dirname(page), path);
      const where = `${relative(repo, page)}: ${target}`;
      if (relative(repo, file).startsWith('..') || !existsSync(file)) {
        broken.push(`${where} (no such file)`);
      } else if (anchor !== undefined && !(file.endsWith('.md') && anchors(file).has(anchor))) {
        broken.push(`${where} (no such anchor)`);
      }
    }
  }
  return broken;
}

describe('links in README.md and docs/*.md', () => {
  it('every relative link and #anchor resolves', () => {
    const pages = pagesOf(root);
    // Guards against a checker that finds nothing to check.
    expect(pages.length).toBeGreaterThan(10);
    expect(pages.flatMap((page) => linksOf(readFileSync(page, 'utf8'))).length).toBeGreaterThan(40);
    expect(brokenLinks(root, pages)).toEqual([]);
  });

  it('the README links to every page under docs/', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const linked = new Set(linksOf(readme).map((target) => target.replace(/#.*$/, '')));
    const unlinked = readdirSync(join(root, 'docs'))
      .filter((name) => name.endsWith('.md'))
      .filter((name) => !linked.has(`docs/${name}`));
    expect(unlinked).toEqual([]);
  });

  it('the README starts with the demo and the test command', () => {
    // CI and newcomers run these two first; `npm test` is the command .ci/run runs.
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const firstBlock = /```bash\n([\s\S]*?)```/.exec(readme);
    expect(readme.slice(0, firstBlock?.index)).toBe('# express-consul\n\n');
    const commands = (firstBlock?.[1] ?? '').split('\n').map((line) => line.replace(/\s+#.*$/, ''));
    expect(commands.slice(0, 2)).toEqual(['npm ci && npm run demo', 'npm test']);
  });

  describe('the checker', () => {
    let repo: string;
    beforeAll(() => {
      repo = mkdtempSync(join(tmpdir(), 'express-consul-links-'));
      mkdirSync(join(repo, 'docs'));
      writeFileSync(
        join(repo, 'README.md'),
        [
          '# Title',
          '',
          '## Command line: `express-consul`',
          '',
          '## Repeated',
          '',
          '## Repeated',
          '',
          'Fine: [a](docs/a.md), [b](docs/a.md#what-the-tests-measure-real-consul-v1163-agent-on-loopback),',
          '[c](#command-line-express-consul), [d](#repeated-1), [e](https://example.com/x#y).',
          'Broken: [f](docs/missing.md), [g](docs/a.md#nowhere), [h](#repeated-2), [i](../outside.md).',
          '`[not a link](nowhere.md)`',
          '',
          '```bash',
          '# not a heading [nor a link](nowhere.md)',
          '```',
          '',
        ].join('\n'),
      );
      writeFileSync(
        join(repo, 'docs', 'a.md'),
        '# A\n\n## What the tests measure (real Consul v1.16.3 agent on loopback)\n\n[up](../README.md#title) [bad](../README.md#not-a-heading-nor-a-link)\n',
      );
    });
    afterAll(() => {
      rmSync(repo, { recursive: true, force: true });
    });

    it('reports a missing file, a missing anchor and a link out of the repository, and nothing else', () => {
      expect(brokenLinks(repo, pagesOf(repo))).toEqual([
        'README.md: docs/missing.md (no such file)',
        'README.md: docs/a.md#nowhere (no such anchor)',
        'README.md: #repeated-2 (no such anchor)',
        'README.md: ../outside.md (no such file)',
        'docs/a.md: ../README.md#not-a-heading-nor-a-link (no such anchor)',
      ]);
    });
  });
});
