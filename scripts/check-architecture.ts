/**
 * Checks src/ against docs/ARCHITECTURE.md: no import cycle between files, and no import that
 * breaks the dependency rule (which folder may import which). Every relative import counts,
 * `import type` and `export ... from` included: a type-only cycle is still two modules that
 * cannot be understood apart, and the rule is about what each folder knows.
 *
 *   node --import tsx scripts/check-architecture.ts [root]     (root defaults to src)
 *
 * Exits 1 and names the files when something is wrong. test/unit/architecture.test.ts runs it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/**
 * The dependency rule: for each part of src/ (a folder, a subfolder, or a top-level file), the
 * other parts its files may import. A file belongs to the longest part that contains it.
 * Keep it in step with docs/ARCHITECTURE.md.
 */
export const RULE: Record<string, readonly string[]> = {
  'errors.ts': [],
  util: ['errors.ts'],
  format: ['errors.ts', 'util'],
  fs: ['errors.ts', 'util', 'format'],
  'object-store': ['errors.ts', 'util'],
  native: ['errors.ts', 'util', 'format'],
  lock: ['errors.ts', 'util', 'format', 'fs'],
  wal: ['errors.ts', 'util', 'format', 'fs', 'lock'],
  embedder: ['errors.ts', 'util', 'format', 'fs'],
  text: ['errors.ts', 'util', 'format', 'embedder'],
  vault: ['errors.ts', 'util', 'format', 'embedder', 'text'],
  segments: ['errors.ts', 'util', 'format', 'fs', 'vault', 'text'],
  'engine/ops': ['errors.ts', 'util', 'format', 'vault'],
  api: ['errors.ts', 'util', 'format', 'embedder', 'text', 'vault', 'engine/ops'],
  'engine/open': ['errors.ts', 'util', 'format', 'fs', 'native', 'lock', 'wal', 'embedder', 'text', 'vault', 'segments', 'engine/ops'],
  'engine/maintenance': ['errors.ts', 'util', 'format', 'fs', 'lock', 'wal', 'embedder', 'text', 'vault', 'segments', 'engine/ops', 'engine/open'],
  'engine/interchange': ['errors.ts', 'util', 'format', 'fs', 'embedder', 'vault', 'engine/ops', 'engine/open', 'engine/maintenance'],
  engine: ['errors.ts', 'util', 'format', 'fs', 'lock', 'wal', 'embedder', 'text', 'vault', 'segments', 'engine/ops', 'api', 'engine/open', 'engine/maintenance', 'engine/interchange'],
  replica: ['errors.ts', 'util', 'format', 'fs', 'lock', 'wal', 'object-store', 'embedder', 'segments', 'engine/open', 'engine/maintenance', 'engine'],
  server: ['errors.ts', 'util', 'format', 'vault', 'api', 'engine'],
  integrations: ['errors.ts', 'util', 'embedder', 'vault', 'api', 'engine/open', 'engine'],
  cli: ['errors.ts', 'util', 'format', 'fs', 'object-store', 'replica', 'server', 'index.ts'],
  'index.ts': ['errors.ts', 'util', 'format', 'fs', 'lock', 'wal', 'object-store', 'embedder', 'text', 'vault', 'api', 'engine/ops', 'engine/open', 'engine/maintenance', 'engine/interchange', 'engine', 'replica'],
};

export interface ArchitectureReport {
  files: number;
  imports: number;
  /** One loop per tangle (files that all reach each other): the files around it, the first repeated at the end. */
  cycles: string[][];
  /** Every file of each tangle, sorted (a tangle may hold more files than its loop). */
  tangles: string[][];
  problems: string[];
}

/** The part of `rule` that `file` (relative to the root, '/'-separated) belongs to, or null. */
export function partOf(file: string, rule: Record<string, readonly string[]>): string | null {
  let best: string | null = null;
  for (const part of Object.keys(rule)) {
    if ((file === part || file.startsWith(`${part}/`)) && (best === null || part.length > best.length)) best = part;
  }
  return best;
}

function listFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) out.push(p);
    }
  };
  walk(root);
  return out.sort();
}

/** The file a relative specifier names (NodeNext style: './x.js' is './x.ts'), or null. */
function resolve(from: string, spec: string): string | null {
  const base = path.resolve(path.dirname(from), spec);
  const candidates = [base.replace(/\.js$/, '.ts'), base, `${base}.ts`, path.join(base, 'index.ts')];
  return candidates.find((c) => c.endsWith('.ts') && fs.existsSync(c)) ?? null;
}

/** Relative imports of a file: static, type-only, re-exports and dynamic import(). */
function importsOf(file: string): string[] {
  const info = ts.preProcessFile(fs.readFileSync(file, 'utf8'), true, true);
  return info.importedFiles.map((f) => f.fileName).filter((s) => s.startsWith('./') || s.startsWith('../'));
}

/** Tangles of the graph (Tarjan's strongly connected components), each with one loop through it. */
function findCycles(graph: Map<string, string[]>): { loop: string[]; members: string[] }[] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) components.push(component);
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return components.map((component) => ({ loop: loopThrough(graph, component), members: [...component].sort() }));
}

/** A shortest way from the component's first file back to itself. */
function loopThrough(graph: Map<string, string[]>, component: string[]): string[] {
  const members = new Set(component);
  const start = [...component].sort()[0]!;
  const previous = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift()!;
    for (const w of graph.get(v) ?? []) {
      if (!members.has(w)) continue;
      if (w === start) {
        const loop = [start];
        for (let at = v; at !== start; at = previous.get(at)!) loop.splice(1, 0, at);
        return [...loop, start];
      }
      if (!previous.has(w)) previous.set(w, v), queue.push(w);
    }
  }
  return [start, start];
}

/** A cycle in the rule itself would let files form a cycle without breaking it. */
function ruleCycles(rule: Record<string, readonly string[]>): string[] {
  const graph = new Map(Object.entries(rule).map(([part, deps]) => [part, [...deps]]));
  const problems: string[] = [];
  for (const [part, deps] of graph) for (const dep of deps) if (!graph.has(dep)) problems.push(`rule: ${part} may import "${dep}", which is not a part of the rule`);
  for (const { loop } of findCycles(graph)) problems.push(`rule: the rule itself has a cycle: ${loop.join(' -> ')}`);
  return problems;
}

export function checkArchitecture(root: string, rule: Record<string, readonly string[]> = RULE): ArchitectureReport {
  const rel = (f: string) => path.relative(root, f).split(path.sep).join('/');
  const files = listFiles(root);
  const graph = new Map<string, string[]>();
  const problems = ruleCycles(rule);
  let imports = 0;
  for (const file of files) {
    const from = rel(file);
    const fromPart = partOf(from, rule);
    if (fromPart === null) problems.push(`layout: ${from} is in no part of the dependency rule (add its folder to RULE and docs/ARCHITECTURE.md)`);
    const targets: string[] = [];
    for (const spec of importsOf(file)) {
      const target = resolve(file, spec);
      if (target === null) {
        problems.push(`import: ${from} imports "${spec}", which is no file under ${path.basename(root)}/`);
        continue;
      }
      const to = rel(target);
      if (to.startsWith('..')) continue;
      imports++;
      targets.push(to);
      const toPart = partOf(to, rule);
      if (fromPart !== null && toPart !== null && toPart !== fromPart && !rule[fromPart]!.includes(toPart)) {
        problems.push(`rule: ${from} (${fromPart}) imports ${to} (${toPart}); ${fromPart} may import only: ${rule[fromPart]!.join(', ') || 'nothing'}`);
      }
    }
    graph.set(from, [...new Set(targets)]);
  }
  const found = findCycles(graph);
  for (const { loop, members } of found) {
    const more = members.length > loop.length - 1 ? ` (one loop of a tangle of ${members.length} files: ${members.join(', ')})` : '';
    problems.push(`cycle: ${loop.join(' -> ')}${more}`);
  }
  return { files: files.length, imports, cycles: found.map((f) => f.loop), tangles: found.map((f) => f.members), problems };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = path.resolve(process.argv[2] ?? 'src');
  const report = checkArchitecture(root);
  for (const problem of report.problems) console.error(problem);
  if (report.problems.length > 0) {
    console.error(`architecture: ${report.problems.length} problem(s) in ${report.files} files (docs/ARCHITECTURE.md)`);
    process.exit(1);
  }
  console.log(`architecture: ${report.files} files, ${report.imports} imports: no cycle, no import against the rule`);
}
