import type { Embedder, EmbedderManifest } from './embedder.js';

/** An artifact path must name a file directly inside text_embedder/ (FORMAT.md). */
const ARTIFACT = /^text_embedder\/[A-Za-z0-9._-]+$/;

/**
 * What is wrong with a manifest, or null: the one rule shared by creation (ConfigError, nothing
 * written) and by reading TEXT_EMBEDDER.manifest back (CorruptionError), so a manifest that was
 * accepted can always be read again.
 */
export function manifestProblem(m: unknown): string | null {
  if (typeof m !== 'object' || m === null) return 'manifest: must be an object';
  const o = m as Record<string, unknown>;
  for (const field of ['provider', 'model', 'fingerprint'] as const) {
    if (typeof o[field] !== 'string' || (o[field] as string).length === 0) return `manifest.${field}: must be a non-empty string`;
  }
  if (typeof o.revision !== 'string') return 'manifest.revision: must be a string';
  if (!Number.isSafeInteger(o.dimension) || (o.dimension as number) < 1) return 'manifest.dimension: must be a positive integer';
  if (typeof o.rehydratable !== 'boolean') return 'manifest.rehydratable: must be a boolean';
  if (o.artifact !== null && (typeof o.artifact !== 'string' || !ARTIFACT.test(o.artifact))) return `manifest.artifact: must be null or a file inside text_embedder/ (got ${JSON.stringify(o.artifact)})`;
  if (o.location !== undefined && typeof o.location !== 'string') return 'manifest.location: must be a string when present';
  return null;
}

/** A custom Embedder is checked whole before a database records it. */
export function embedderProblem(e: Embedder): string | null {
  const problem = manifestProblem(e.manifest);
  if (problem) return problem;
  const m: EmbedderManifest = e.manifest;
  if (e.dimension !== m.dimension) return `dimension ${String(e.dimension)} disagrees with manifest.dimension ${m.dimension}`;
  if (m.artifact !== null && typeof e.artifact !== 'function') return 'manifest.artifact names a file but the embedder has no artifact() to write it';
  return null;
}
