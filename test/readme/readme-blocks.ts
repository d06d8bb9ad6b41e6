/**
 * README.md code blocks, as test/readme/readme.test.ts runs them. The convention (README
 * "Development", "README code blocks"):
 * - Every ```ts / ```typescript / ```js / ```javascript block runs, in its own fresh temporary
 *   directory (so './my_db' is a temp path), as an ES module that imports the built package as
 *   'quiverdb'. TypeScript blocks run through tsx; JavaScript blocks run in plain node, so
 *   TypeScript-only syntax in a js block fails.
 * - TypeScript blocks also type-check together (tsc --strict, NodeNext) against dist/*.d.ts.
 * - Each block runs twice in the same directory: a snippet must also work on a database it
 *   created before (as a user re-running it would).
 * - An HTML comment on the line right before the fence changes that:
 *   `<!-- readme: name NAME -->` names a block; `<!-- readme: continues NAME -->` appends this
 *   block to it (one module, run at that block's place), `<!-- readme: continues -->` to the
 *   previous runnable block; `<!-- readme: skip (reason) -->` does not run it, and the reason is
 *   required (a skipped TypeScript block that imports quiverdb is still type-checked). Keep skips
 *   rare: illustrative fragments only.
 */
export interface ReadmeBlock {
  /** 1-based line of the opening fence. */
  line: number;
  lang: 'ts' | 'js';
  code: string;
  /** Lines of this block, then of the blocks that continue it. */
  lines: number[];
  name?: string;
}

export interface ReadmeScan {
  runnable: ReadmeBlock[];
  /** Not run; a TypeScript one that imports quiverdb is still type-checked. */
  skipped: { line: number; reason: string; lang: 'ts' | 'js'; code: string }[];
}

const LANGS: Record<string, 'ts' | 'js'> = { ts: 'ts', typescript: 'ts', js: 'js', javascript: 'js' };

export function scanReadme(text: string): ReadmeScan {
  const lines = text.split('\n');
  const runnable: ReadmeBlock[] = [];
  const skipped: ReadmeScan['skipped'] = [];
  for (let i = 0; i < lines.length; i++) {
    const fence = /^```(\w+)?\s*$/.exec(lines[i]!);
    if (!fence) continue;
    let end = i + 1;
    while (end < lines.length && !/^```\s*$/.test(lines[end]!)) end++;
    const lang = LANGS[fence[1] ?? ''];
    const code = lines.slice(i + 1, end).join('\n');
    const marker = /^<!--\s*readme:\s*(\w+)\s*(.*?)\s*-->\s*$/.exec(lines[i - 1] ?? '');
    if (lang) {
      if (marker?.[1] === 'skip') {
        const reason = marker[2]!.replace(/^\((.*)\)$/, '$1');
        if (!reason) throw new Error(`README.md:${i + 1}: a skipped block needs a reason: <!-- readme: skip (why) -->`);
        skipped.push({ line: i + 1, reason, lang, code });
      } else if (marker?.[1] === 'continues') {
        const name = marker[2];
        const prev = name ? runnable.find((b) => b.name === name) : runnable.at(-1);
        if (!prev) throw new Error(`README.md:${i + 1}: no block ${name ? `named "${name}" ` : ''}to continue`);
        if (prev.lang !== lang) throw new Error(`README.md:${i + 1}: continues a ${prev.lang} block as ${lang}`);
        prev.code += `\n// README.md:${i + 1}\n${code}`;
        prev.lines.push(i + 1);
      } else if (marker?.[1] === 'name' && marker[2]) {
        runnable.push({ line: i + 1, lang, code, lines: [i + 1], name: marker[2] });
      } else if (marker) {
        throw new Error(`README.md:${i}: unknown readme marker "${marker[1]}" (name, continues or skip)`);
      } else {
        runnable.push({ line: i + 1, lang, code, lines: [i + 1] });
      }
    }
    i = end;
  }
  return { runnable, skipped };
}
