import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { tmpDir } from '../helpers/tmp.js';
import { ensureBuilt } from '../helpers/built.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DIST = path.join(ROOT, 'dist');

before(() => {
  ensureBuilt();
});

/**
 * Every named type reachable from what dist/index.d.ts exports (parameters, return types,
 * properties, base types, through other types) that is declared in quiverdb but not exported
 * from it: a user could see it in a signature but never name it.
 */
function unexportedTypes(): string[] {
  const program = ts.createProgram([path.join(DIST, 'index.d.ts')], { strict: true, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, noEmit: true, types: ['node'] });
  const checker = program.getTypeChecker();
  const index = checker.getSymbolAtLocation(program.getSourceFile(path.join(DIST, 'index.d.ts'))!)!;
  const real = (s: ts.Symbol) => (s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s);
  const exported = new Set(checker.getExportsOfModule(index).map(real));
  const ours = (d: ts.Declaration) => path.resolve(d.getSourceFile().fileName).startsWith(DIST + path.sep);
  const missing = new Set<string>();
  const seen = new Set<ts.Symbol>();
  const visitSymbol = (symbol: ts.Symbol) => {
    if (seen.has(symbol)) return;
    seen.add(symbol);
    for (const d of symbol.declarations ?? []) if (ours(d)) visit(d);
  };
  const visit = (node: ts.Node): void => {
    // Private members and type parameters' own names are not part of what a user sees.
    if (ts.canHaveModifiers(node) && ts.getModifiers(node)?.some((m) => m.kind === ts.SyntaxKind.PrivateKeyword)) return;
    if (ts.isPrivateIdentifier(node)) return;
    let name: ts.Node | undefined;
    if (ts.isTypeReferenceNode(node)) name = node.typeName;
    else if (ts.isExpressionWithTypeArguments(node)) name = node.expression;
    else if (ts.isImportTypeNode(node)) name = node.qualifier;
    else if (ts.isTypeQueryNode(node)) name = node.exprName;
    if (name) {
      const found = checker.getSymbolAtLocation(ts.isQualifiedName(name) ? name.right : name);
      if (found) {
        const symbol = real(found);
        const decl = symbol.declarations?.[0];
        if (decl && ours(decl) && !(symbol.flags & ts.SymbolFlags.TypeParameter)) {
          if (!exported.has(symbol)) missing.add(`${symbol.name} (${path.relative(DIST, decl.getSourceFile().fileName)})`);
          visitSymbol(symbol);
        }
      }
    }
    ts.forEachChild(node, visit);
  };
  for (const symbol of exported) visitSymbol(symbol);
  return [...missing].sort();
}

describe('the public types', () => {
  it('every type a public signature uses is exported from quiverdb', () => {
    assert.deepEqual(unexportedTypes(), []);
  });

  it('a consumer compiles against dist/*.d.ts with tsc --strict, module NodeNext; internals are not visible', () => {
    const app = tmpDir('quiver-types-');
    fs.mkdirSync(path.join(app, 'node_modules'));
    fs.symlinkSync(ROOT, path.join(app, 'node_modules', 'quiverdb'));
    fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'consumer', type: 'module' }));
    fs.writeFileSync(
      path.join(app, 'consumer.ts'),
      `import { open, type Database, type Vault, type Hit, type TraceEntry, type LayerView, type LayerSummary, type Change, type Layers,
  type Branches, type Traces, type ReembedResult, type ExportSummary, type CommitInput, type TraceOptions, type Retention,
  type ResourceValue, type Bm25Params, type SearchMode, type Embedder, type EmbedderManifest, type DatabaseStatus, type BackupResult,
  backup } from 'quiverdb';

export async function use(): Promise<void> {
  const db: Database = await open(undefined, { dimension: 2 });
  const v: Vault = await db.createVault('v');
  const hits: Hit[] = await v.search([1, 0], { k: 1, mode: 'vector' satisfies SearchMode });
  const layers: Layers = v.layers;
  const branches: Branches = v.branches;
  const traces: Traces = v.traces;
  const commit: CommitInput = { resources: { 'urn:x': { a: 1 } satisfies ResourceValue } };
  const layer = await layers.commit(commit);
  const view: LayerView | null = layers.get(layer.id);
  const log: LayerSummary[] = layers.log('main');
  const changes: Change[] = layers.diff(layer.id, layer.id);
  const options: TraceOptions = { at: new Date() };
  await traces.put('k', { ok: true }, options);
  const entry: TraceEntry | null = traces.get('k');
  const retention: Retention = { maxCount: 10 };
  await traces.setRetention(retention);
  const exported: ExportSummary = await db.export('/tmp/nowhere');
  const bm25: Bm25Params = { k1: 1.2, b: 0.75 };
  const reembedded: Promise<ReembedResult> = db.reembed('local');
  const manifest: EmbedderManifest | undefined = (db.embedder as Embedder | null)?.manifest;
  void [view, hits, branches, log, changes, entry, exported, bm25, reembedded, manifest];
  // @ts-expect-error fail() is internal
  db.fail(new Error('x'));
  const status: DatabaseStatus = db.status;
  // @ts-expect-error no handle is ever 'opening': open() resolves once the database is open
  const opening: DatabaseStatus = 'opening';
  const copied: Promise<BackupResult> = backup('/tmp/db', '/tmp/copy');
  void [status, opening, copied];
  await db.close();
}
`,
    );
    fs.writeFileSync(path.join(app, 'tsconfig.json'), JSON.stringify({ compilerOptions: { strict: true, module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', noEmit: true, skipLibCheck: false, types: ['node'], typeRoots: [path.join(ROOT, 'node_modules', '@types')] }, files: ['consumer.ts'] }));
    const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    try {
      execFileSync(process.execPath, [tsc, '-p', app], { cwd: app, encoding: 'utf8' });
    } catch (err) {
      assert.fail(`tsc failed:\n${(err as { stdout: string }).stdout}`);
    }
  });
});
