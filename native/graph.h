// The read-only HNSW search over an hnswlib graph file mapped in memory (graph.c), apart from
// its N-API face (qmap.c). See graph.c for what "the same answer as hnswlib" takes.
#ifndef QUIVER_GRAPH_H
#define QUIVER_GRAPH_H

#include <stddef.h>
#include <stdint.h>

#define GRAPH_HEADER_BYTES 96
enum { METRIC_L2 = 0, METRIC_IP = 1, METRIC_COSINE = 2 };
enum { GRAPH_OK = 0, GRAPH_CORRUPT = 1, GRAPH_NOMEM = 2, GRAPH_STOPPED = 3, GRAPH_IO = 4 };

typedef struct { float d; uint32_t id; } pair_t;
typedef struct { pair_t *a; size_t n, cap; } heap_t;

typedef struct codes codes_t;

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
  // The elements with upper levels, by ascending id: where their lists start in the map and how
  // many levels they have (about 1/M of the elements; found by binary search).
  size_t nupper;
  uint32_t *up_id;
  int64_t *up_off;
  uint8_t *up_lv;
  // Page checksums from the graph's sidecar (FORMAT.md "Graph sidecar"), or NULL when the whole
  // file was checked before mapping: a page is checked on its first use, then marked verified.
  uint32_t *sums;
  uint8_t *verified;
  size_t pages;
  unsigned page_log2;
  // A page that did not match: every later search fails with the same message.
  char *failure;
  // Per-search scratch, kept between searches.
  uint16_t *visited;
  uint16_t tag;
  heap_t top, cand;
  float *query;
  int closed;
  // The mapping belongs to a mapFile buffer (qmap.c): released without munmap; its owner unmaps.
  int borrowed;
  // Set by qmap.c around a search: a close() asked for meanwhile (from a filter callback) waits.
  int busy, close_pending;
  // The graph's int8 codes (codes.c), searched in place of its vectors when attached; NULL: none.
  codes_t *codes;
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

/** The sidecar's GRAPH section: bytes u64, crc u32, page log2 u32, pages, count, deleted, upper start, upper count (u64 each). */
#define SIDECAR_META_BYTES 64

/** What a graph's sidecar says of it (FORMAT.md "Graph sidecar"), its arrays as stored (little-endian). */
typedef struct {
  uint64_t bytes, count, deleted, upper_start, nupper, pages;
  unsigned page_log2;
  const uint8_t *sums;   // pages x u32
  const uint8_t *upper;  // nupper x (u32 id, u32 levels), ids ascending
} sidecar_t;

/**
 * graph_index for a graph with a sidecar: checks the header, the pages holding it and the
 * upper-level area, and takes the upper lists' places from the sidecar instead of scanning; the
 * level-0 pages are checked by graph_search on first use. GRAPH_OK, or an error with `why` set.
 */
int graph_index_paged(graph_t *g, const sidecar_t *s, char *why, size_t why_len);

/** Parses and checks the header, and allocates the search scratch (graph.c). NULL, or what is wrong. */
const char *graph_header(graph_t *g);

/** Appends an element with upper levels to the graph's table (ids ascending). 0: out of memory. */
int graph_upper_push(graph_t *g, size_t *cap, uint32_t id, int64_t off, uint8_t levels);

/** Checks n bytes, page p of a file (from byte `at`), against `want`: 1 and verified[p] set, or 0 with *failure set to "<what> p (bytes ..) does not match its checksum<where>" (pages.c). */
int graph_bytes_sum(const uint8_t *bytes, size_t n, size_t p, size_t at, uint32_t want, uint8_t *verified, char **failure, const char *what, const char *where);

/** Checks page p of a mapping against sums[p]: 1 and marked verified, or 0 with *failure set to "<what> p (bytes ..) does not match its checksum<where>" (pages.c). */
int graph_page_sum(const uint8_t *base, size_t len, const uint32_t *sums, uint8_t *verified, unsigned log2, size_t p, char **failure, const char *what, const char *where);

/** Checks page p against its sum: 1 and marked verified, or 0 with g->failure set (pages.c). */
int graph_check_page(graph_t *g, size_t p);

/** CRC32C (Castagnoli) of n bytes, as quiverdb's format/crc.ts computes it. */
uint32_t graph_crc32c(const uint8_t *p, size_t n);

/**
 * The k nearest to `query` (dim floats), `ef` wide, into labels/distances (room for k), nearest
 * first and ties by label; *found is how many. GRAPH_OK, or an error with `why` set.
 */
int graph_search(graph_t *g, const float *query, uint32_t k, uint32_t ef, const filter_t *f, uint32_t *labels, float *distances, size_t *found, char *why, size_t why_len);

/** Shared by graph.c and codes.c: hnswlib's distance for the graph's metric, its heaps, an element's upper-level lists, the query as searched. */
float graph_distance(const graph_t *g, const float *q, const float *v);
int graph_heap_push(heap_t *h, float d, uint32_t id);
void graph_heap_pop(heap_t *h);
uint8_t graph_upper_of(const graph_t *g, uint32_t id, const uint8_t **lists);
float *graph_query(graph_t *g, const float *query);
/** Whether every page under element i's level-0 record has matched its sum (checking those not yet checked); 1 without a sidecar. */
int graph_record_checked(graph_t *g, uint32_t i);

/** Where the codes file's bytes are, the manifest's CRC32C of the graph they were made from (FORMAT.md "Graph codes"), and a descriptor of the graph file for the re-rank's reads (the codes own it from here, even on failure). */
int codes_attach(graph_t *g, const uint8_t *base, size_t len, uint32_t graph_crc, int graph_fd, char *why, size_t why_len);

/** graph_search over the codes, then the `ef` best re-ranked by their float32 vectors in the graph: same arguments, same order of results. */
int codes_search(graph_t *g, const float *query, uint32_t k, uint32_t ef, const filter_t *f, uint32_t *labels, float *distances, size_t *found, char *why, size_t why_len);

/** Frees what codes_attach allocated (the mapping is its owner's). NULL is fine. */
void codes_release(codes_t *c);

/** Unmaps the file and frees the tables; the graph can no longer be searched. */
void graph_release(graph_t *g);

#endif
