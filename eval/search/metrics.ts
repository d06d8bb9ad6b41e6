/** Ranking metrics over document ids (a chunk's document is its `chunk.docId`). */
export interface Ranked {
  docs: string[];
  /** Chunk ids of the first three hits, for the hubness count. */
  top3: string[];
}

export interface Scores {
  recall10: number;
  mrr10: number;
  /** The largest share of queries that one chunk appears in the top 3 of. */
  hub: number;
  hubId: string;
}

export function score(runs: { relevant: ReadonlySet<string>; ranked: Ranked }[]): Scores {
  let hits = 0;
  let rr = 0;
  const top3 = new Map<string, number>();
  for (const { relevant, ranked } of runs) {
    const first = ranked.docs.slice(0, 10).findIndex((d) => relevant.has(d));
    if (first >= 0) {
      hits++;
      rr += 1 / (first + 1);
    }
    for (const id of ranked.top3) top3.set(id, (top3.get(id) ?? 0) + 1);
  }
  let hubId = '';
  let hub = 0;
  for (const [id, n] of top3) if (n > hub) [hub, hubId] = [n, id];
  const n = runs.length || 1;
  return { recall10: hits / n, mrr10: rr / n, hub: hub / n, hubId };
}

/** Relevant documents among the first three (the hand-judged questions' measure). */
export function relevantInTop3(runs: { relevant: ReadonlySet<string>; ranked: Ranked }[]): number {
  return runs.reduce((s, { relevant, ranked }) => s + ranked.docs.slice(0, 3).filter((d) => relevant.has(d)).length, 0);
}
