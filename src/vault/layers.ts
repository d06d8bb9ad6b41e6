import type { Layer, ResourceValue } from '../format/history-codec.js';

export type { Layer, ResourceValue };

interface Node {
  layer: Layer;
  depth: number;
  /** up[j] = the 2^j-th ancestor (binary lifting): ancestry checks in O(log depth). */
  up: Node[];
}

/**
 * A vault's layers and branches (README "Layers, branches, traces"). Layers are immutable and form
 * parent chains; branches are named heads. Resolution does not walk chains: an index lists, for
 * each IRI, the layers that define it, and an ancestry test with skip pointers picks the nearest
 * one. So a miss touches no layer and a hit touches only the layers that mention the IRI;
 * `touched` counts them, for tests and stats.
 */
export class LayerStore {
  private readonly nodes = new Map<string, Node>();
  private readonly byIri = new Map<string, Set<string>>();
  readonly branches = new Map<string, string | null>([['main', null]]);
  /** The number the next layer id uses. */
  nextLayer = 1;
  /** Layers whose contents were read by the last resolve. */
  touched = 0;

  get count(): number {
    return this.nodes.size;
  }

  layers(): IterableIterator<Layer> {
    return [...this.nodes.values()].map((n) => n.layer).values();
  }

  get(id: string): Layer | undefined {
    return this.nodes.get(id)?.layer;
  }

  /** Adds a layer (its parent must exist). Used by commits, replay and loading alike. */
  add(layer: Layer): void {
    const parent = layer.parent === null ? null : this.nodes.get(layer.parent) ?? null;
    const node: Node = { layer, depth: parent ? parent.depth + 1 : 0, up: [] };
    if (parent) {
      node.up.push(parent);
      for (let j = 0; node.up[j]!.up[j]; j++) node.up.push(node.up[j]!.up[j]!);
    }
    this.nodes.set(layer.id, node);
    for (const iri of layer.resources.keys()) {
      let set = this.byIri.get(iri);
      if (!set) this.byIri.set(iri, (set = new Set()));
      set.add(layer.id);
    }
    const n = Number(layer.id.slice(1));
    if (Number.isSafeInteger(n) && n >= this.nextLayer) this.nextLayer = n + 1;
  }

  /** Removes a layer (garbage collection of layers no branch reaches). */
  drop(id: string): void {
    const node = this.nodes.get(id);
    if (!node) return;
    this.nodes.delete(id);
    for (const iri of node.layer.resources.keys()) {
      const set = this.byIri.get(iri);
      set?.delete(id);
      if (set?.size === 0) this.byIri.delete(iri);
    }
  }

  /** Whether `a` is `b` or an ancestor of `b`. */
  isAncestor(a: string, b: string): boolean {
    const na = this.nodes.get(a);
    let nb = this.nodes.get(b);
    if (!na || !nb || na.depth > nb.depth) return false;
    let diff = nb.depth - na.depth;
    for (let j = 0; diff > 0; j++, diff >>= 1) if (diff & 1) nb = nb.up[j]!;
    return nb === na;
  }

  /** The nearest definition of `iri` at or above layer `from`: the layer and its value. */
  lookup(iri: string, from: string | null): { layer: Layer; value: ResourceValue } | null {
    this.touched = 0;
    if (from === null) return null;
    let best: Node | null = null;
    for (const id of this.byIri.get(iri) ?? []) {
      const node = this.nodes.get(id)!;
      this.touched++;
      if ((!best || node.depth > best.depth) && this.isAncestor(id, from)) best = node;
    }
    return best ? { layer: best.layer, value: best.layer.resources.get(iri)! } : null;
  }

  /** Layers from `head` back through its parents, newest first. */
  *chain(head: string | null): Generator<Layer> {
    for (let node = head === null ? undefined : this.nodes.get(head); node; node = node.up[0]) yield node.layer;
  }

  /** The nearest common ancestor of two layers, or null. */
  commonAncestor(a: string, b: string): string | null {
    let na = this.nodes.get(a);
    let nb = this.nodes.get(b);
    if (!na || !nb) return null;
    while (na.depth > nb.depth) na = na.up[0]!;
    while (nb.depth > na.depth) nb = nb.up[0]!;
    for (let j = na.up.length - 1; j >= 0; j--) {
      if (na.up[j] && nb.up[j] && na.up[j] !== nb.up[j]) {
        na = na.up[j]!;
        nb = nb.up[j]!;
      }
    }
    if (na === nb) return na.layer.id;
    return na.up[0] && na.up[0] === nb.up[0] ? na.up[0].layer.id : null;
  }

  /** Layers no branch head reaches (candidates for garbage collection). */
  unreachable(): string[] {
    const heads = [...this.branches.values()].filter((h): h is string => h !== null);
    const keep = new Set<string>();
    for (const head of heads) for (const layer of this.chain(head)) if (!keep.has(layer.id)) keep.add(layer.id);
    return [...this.nodes.keys()].filter((id) => !keep.has(id));
  }
}
