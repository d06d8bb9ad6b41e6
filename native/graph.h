// The read-only HNSW search over an hnswlib graph file mapped in memory (graph.c), apart from
// its N-API face (qmap.c). See graph.c for what "the same answer as hnswlib" takes.
#ifndef QUIVER_GRAPH_H
#define QUIVER_GRAPH_H

#include <stddef.h>
#include <stdint.h>

#define GRAPH_HEADER_BYTES 96
enum { METRIC_L2 = 0, METRIC_IP = 1, METRIC_COSINE = 2 };
enum { GRAPH_OK = 0, GRAPH_CORRUPT = 1, GRAPH_NOMEM = 2, GRAPH_STOPPED = 3 };

typedef struct { float d; uint32_t id; } pair_t;
typedef struct { pair_t *a; size_t n, cap; } heap_t;

typedef struct {
  // Set by the caller before graph_index: the mapping (the graph owns it from then on).
  const uint8_t *base;
  size_t len, dim;
  int metric;
  // Read from the file by graph_index.
  uint64_t count, max_elements, per, label_off, data_off, max_m, max_m0, deleted;
  int32_t max_level;
  uint32_t entry;
  size_t lanes, per_level;
  int64_t *upper;   // offset of element i's upper-level lists in the map, -1 when it has none
  uint8_t *levels;  // how many upper levels element i has
  // Per-search scratch, kept between searches.
  uint16_t *visited;
  uint16_t tag;
  heap_t top, cand;
  float *query;
  int closed;
  // Set by qmap.c around a search: a close() asked for meanwhile (from a filter callback) waits.
  int busy, close_pending;
} graph_t;

/** 1: may be returned; 0: not; -1: the check failed, stop the search (GRAPH_STOPPED). */
typedef int (*accept_fn)(void *ctx, uint64_t label);

/** Which labels a search may return: bitmaps by label (1 = yes) and a callback; NULL allows all. */
typedef struct {
  const uint8_t *live, *allow;
  size_t live_len, allow_len;
  accept_fn accept;
  void *ctx;
} filter_t;

/** Checks the header and indexes the upper-level lists. GRAPH_OK, or an error with `why` set. */
int graph_index(graph_t *g, char *why, size_t why_len);

/**
 * The k nearest to `query` (dim floats), `ef` wide, into labels/distances (room for k), nearest
 * first and ties by label; *found is how many. GRAPH_OK, or an error with `why` set.
 */
int graph_search(graph_t *g, const float *query, uint32_t k, uint32_t ef, const filter_t *f, uint32_t *labels, float *distances, size_t *found, char *why, size_t why_len);

/** Unmaps the file and frees the tables; the graph can no longer be searched. */
void graph_release(graph_t *g);

#endif
