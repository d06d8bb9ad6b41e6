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

export type RouteMatch = { route: Route; params: Record<string, string> };

/** A path's non-empty segments (so `//a/b/` is `a`, `b`), in one pass. */
function segmentsOf(path: string): string[] {
  const parts: string[] = [];
  let from = 0;
  for (;;) {
    const slash = path.indexOf('/', from);
    const end = slash < 0 ? path.length : slash;
    if (end > from) parts.push(path.slice(from, end));
    if (slash < 0) return parts;
    from = slash + 1;
  }
}

/**
 * The matcher for a route table: routes are grouped by method and segment count once, so a
 * request is compared only with the few routes it could be, in the table's order.
 */
export function routeTable(routes: readonly Route[]): (method: string, path: string) => RouteMatch | null {
  const groups = new Map<string, Route[]>();
  for (const r of routes) {
    const key = `${r.method} ${r.segments.length}`;
    const group = groups.get(key);
    if (group) group.push(r);
    else groups.set(key, [r]);
  }
  return (method, path) => {
    const parts = segmentsOf(path);
    const candidates = groups.get(`${method} ${parts.length}`);
    if (!candidates) return null;
    for (const r of candidates) {
      const params = matchSegments(r.segments, parts);
      if (params) return { route: r, params };
    }
    return null;
  };
}

function matchSegments(segments: readonly string[], parts: readonly string[]): Record<string, string> | null {
  const params: Record<string, string> = {};
  for (let i = 0; i < parts.length; i++) {
    const seg = segments[i]!;
    if (seg.charCodeAt(0) !== 58 /* : */) {
      if (seg !== parts[i]) return null;
      continue;
    }
    try {
      params[seg.slice(1)] = decodeURIComponent(parts[i]!);
    } catch {
      return null;
    }
  }
  return params;
}
