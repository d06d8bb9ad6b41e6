import type { Database } from '../engine/database.js';

/** What a route handler gets: the database, the path parameters, the parsed body and query. */
export interface RequestContext {
  db: Database;
  params: Record<string, string>;
  body: Record<string, unknown>;
  query: URLSearchParams;
}

/** A handler returns Qdrant's `result`; `raw` replies are sent as they are (health checks). */
export type Handler = (ctx: RequestContext) => Promise<unknown> | unknown;

export interface Route {
  method: string;
  /** Segments; `:name` captures one. */
  segments: string[];
  handler: Handler;
  /** Whether the route changes the database (refused by a read-only server). */
  writes: boolean;
}

export function route(method: string, pattern: string, handler: Handler, writes = false): Route {
  return { method, segments: pattern.split('/').filter(Boolean), handler, writes };
}

export function matchRoute(routes: readonly Route[], method: string, path: string): { route: Route; params: Record<string, string> } | null {
  const parts = path.split('/').filter(Boolean);
  for (const r of routes) {
    if (r.method !== method || r.segments.length !== parts.length) continue;
    const params: Record<string, string> = {};
    let ok = true;
    for (let i = 0; i < parts.length && ok; i++) {
      const seg = r.segments[i]!;
      if (seg.startsWith(':')) {
        try {
          params[seg.slice(1)] = decodeURIComponent(parts[i]!);
        } catch {
          ok = false;
        }
      } else ok = seg === parts[i];
    }
    if (ok) return { route: r, params };
  }
  return null;
}
