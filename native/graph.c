// quiverdb's read-only graph search (issue #19; docs/design/shared-memory-readers.md).
//
// It searches a graph file saved by hnswlib-node (hnswlib's saveIndex layout, FORMAT.md "Segment
// files"), mapped read-only, step for step as hnswlib's searchKnn does: the same distance kernels
// (same summation order, so the same floats), the same heaps (libstdc++'s push and pop, so ties
// fall the same way), the same stop rules, the same handling of deleted marks. Same file, same
// query, same ordered answer.
//
// Nothing read from the file is trusted: every offset, count and link is checked against the
// mapping before it is followed, so a damaged file gives GRAPH_CORRUPT, never a read outside the
// map. (A file truncated while mapped still raises SIGBUS; quiverdb never truncates or rewrites
// a file it named, FORMAT.md "Readers".)
#define _GNU_SOURCE
#include "graph.h"
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#ifdef __SSE__
#include <xmmintrin.h>
#endif

#define HEADER_BYTES GRAPH_HEADER_BYTES

static uint64_t rd_u64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static uint32_t rd_u32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint16_t rd_u16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }

// ---- distances, summed exactly as hnswlib's SSE kernels sum them ----
// hnswlib-node is built without -march, so hnswlib uses its SSE kernels: four lanes, lane j
// summing elements j, j+4, j+8, ...; the lanes added left to right; the elements the lanes do not
// cover summed one by one and added last. binding.gyp turns off FMA contraction so the scalar
// fallback (non-x86) rounds the same way.
static inline float ip_lanes(const float *a, const float *b, size_t n) {
#ifdef __SSE__
  __m128 s = _mm_setzero_ps();
  for (size_t i = 0; i < n; i += 4) s = _mm_add_ps(s, _mm_mul_ps(_mm_loadu_ps(a + i), _mm_loadu_ps(b + i)));
  float t[4];
  _mm_storeu_ps(t, s);
  return t[0] + t[1] + t[2] + t[3];
#else
  float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  for (size_t i = 0; i < n; i += 4) { s0 += a[i] * b[i]; s1 += a[i + 1] * b[i + 1]; s2 += a[i + 2] * b[i + 2]; s3 += a[i + 3] * b[i + 3]; }
  return s0 + s1 + s2 + s3;
#endif
}

static inline float l2_lanes(const float *a, const float *b, size_t n) {
#ifdef __SSE__
  __m128 s = _mm_setzero_ps();
  for (size_t i = 0; i < n; i += 4) {
    __m128 d = _mm_sub_ps(_mm_loadu_ps(a + i), _mm_loadu_ps(b + i));
    s = _mm_add_ps(s, _mm_mul_ps(d, d));
  }
  float t[4];
  _mm_storeu_ps(t, s);
  return t[0] + t[1] + t[2] + t[3];
#else
  float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  for (size_t i = 0; i < n; i += 4) {
    float d0 = a[i] - b[i], d1 = a[i + 1] - b[i + 1], d2 = a[i + 2] - b[i + 2], d3 = a[i + 3] - b[i + 3];
    s0 += d0 * d0; s1 += d1 * d1; s2 += d2 * d2; s3 += d3 * d3;
  }
  return s0 + s1 + s2 + s3;
#endif
}

float graph_distance(const graph_t *g, const float *q, const float *v) {
  size_t n = g->lanes, d = g->dim;
  if (g->metric == METRIC_L2) {
    float tail = 0;
    for (size_t i = n; i < d; i++) { float t = q[i] - v[i]; tail += t * t; }
    if (n == 0) return tail;
    float s = l2_lanes(q, v, n);
    return n == d ? s : s + tail;
  }
  float tail = 0;
  for (size_t i = n; i < d; i++) tail += q[i] * v[i];
  if (n == 0) return 1.0f - tail;
  float s = ip_lanes(q, v, n);
  return n == d ? 1.0f - s : 1.0f - (s + tail);
}

/** How many leading elements hnswlib's kernel for this dimension sums in lanes. */
static size_t lanes_for(size_t dim) {
#ifndef __SSE__
  // hnswlib without SSE sums one element after another: so does this file then.
  (void)dim;
  return 0;
#endif
  if (dim % 16 == 0 || dim % 4 == 0) return dim;
  if (dim > 16) return dim & ~(size_t)15;
  if (dim > 4) return dim & ~(size_t)3;
  return 0;
}

// ---- libstdc++'s binary heap (std::priority_queue with hnswlib's CompareByFirst) ----
// Copied in behaviour, not just in order: which of two equal distances is popped first depends
// on these exact moves, and that decides which tied neighbours a search keeps.
static void sift_up(pair_t *a, ptrdiff_t hole, pair_t v) {
  ptrdiff_t parent = (hole - 1) / 2;
  while (hole > 0 && a[parent].d < v.d) { a[hole] = a[parent]; hole = parent; parent = (hole - 1) / 2; }
  a[hole] = v;
}

int graph_heap_push(heap_t *h, float d, uint32_t id) {
  if (h->n == h->cap) {
    size_t cap = h->cap ? h->cap * 2 : 256;
    pair_t *a = realloc(h->a, cap * sizeof *a);
    if (!a) return 0;
    h->a = a;
    h->cap = cap;
  }
  pair_t v = { d, id };
  h->a[h->n++] = v;
  sift_up(h->a, (ptrdiff_t)h->n - 1, v);
  return 1;
}

void graph_heap_pop(heap_t *h) {
  if (h->n > 1) {
    pair_t *a = h->a;
    ptrdiff_t len = (ptrdiff_t)h->n - 1, hole = 0, child = 0;
    pair_t v = a[len];
    a[len] = a[0];
    while (child < (len - 1) / 2) {
      child = 2 * (child + 1);
      if (a[child].d < a[child - 1].d) child--;
      a[hole] = a[child];
      hole = child;
    }
    if ((len & 1) == 0 && child == (len - 2) / 2) {
      child = 2 * (child + 1);
      a[hole] = a[child - 1];
      hole = child - 1;
    }
    sift_up(a, hole, v);
  }
  h->n--;
}

static inline const uint8_t *record(const graph_t *g, uint32_t i) { return g->base + HEADER_BYTES + (size_t)i * g->per; }
static inline const float *vector_of(const graph_t *g, uint32_t i) { return (const float *)(record(g, i) + g->data_off); }
static inline uint64_t label_of(const graph_t *g, uint32_t i) { return rd_u64(record(g, i) + g->label_off); }
// hnswlib's delete mark: bit 0 of byte 2 of a level-0 record's count word.
static inline int marked_deleted(const graph_t *g, uint32_t i) { return record(g, i)[2] & 1; }

const char *graph_header(graph_t *g) {
  const uint8_t *p = g->base;
  g->lanes = lanes_for(g->dim);
  if (g->len < HEADER_BYTES) return "shorter than its header";
  uint64_t offset_level0 = rd_u64(p);
  g->max_elements = rd_u64(p + 8);
  g->count = rd_u64(p + 16);
  g->per = rd_u64(p + 24);
  g->label_off = rd_u64(p + 32);
  g->data_off = rd_u64(p + 40);
  memcpy(&g->max_level, p + 48, 4);
  g->entry = rd_u32(p + 52);
  g->max_m = rd_u64(p + 56);
  g->max_m0 = rd_u64(p + 64);
  if (offset_level0 != 0) return "header's level-0 offset is not 0";
  if (g->max_m == 0 || g->max_m > 0xffff || g->max_m0 == 0 || g->max_m0 > 0xffff) return "header's link counts are out of range";
  uint64_t links0 = 4 + 4 * g->max_m0;
  if (g->data_off != links0 || g->label_off != links0 + 4 * g->dim || g->per != g->label_off + 8) return "header does not describe vectors of this dimension";
  if (g->count > g->max_elements || g->count > (g->len - HEADER_BYTES) / g->per || g->count > 0xffffffffu) return "header's element count does not fit the file";
  if (g->count == 0 ? g->max_level != -1 : (g->max_level < 0 || g->max_level > 255 || g->entry >= g->count)) return "header's entry point is out of bounds";
  g->per_level = 4 + 4 * g->max_m;
  size_t n = (size_t)g->count;
  g->visited = calloc(n ? n : 1, sizeof *g->visited);
  g->query = malloc((g->dim ? g->dim : 1) * sizeof(float));
  if (!g->visited || !g->query) return "out of memory";
  return NULL;
}

int graph_upper_push(graph_t *g, size_t *cap, uint32_t id, int64_t off, uint8_t levels) {
  if (g->nupper == *cap) {
    size_t c = *cap ? *cap * 2 : 64;
    uint32_t *ids = realloc(g->up_id, c * sizeof *ids);
    if (ids) g->up_id = ids;
    int64_t *offs = realloc(g->up_off, c * sizeof *offs);
    if (offs) g->up_off = offs;
    uint8_t *lvs = realloc(g->up_lv, c);
    if (lvs) g->up_lv = lvs;
    if (!ids || !offs || !lvs) return 0;
    *cap = c;
  }
  g->up_id[g->nupper] = id;
  g->up_off[g->nupper] = off;
  g->up_lv[g->nupper] = levels;
  g->nupper++;
  return 1;
}

/** Where element id's upper-level lists are, and how many levels it has (0: none). */
uint8_t graph_upper_of(const graph_t *g, uint32_t id, const uint8_t **lists) {
  size_t lo = 0, hi = g->nupper;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (g->up_id[mid] < id) lo = mid + 1;
    else hi = mid;
  }
  if (lo == g->nupper || g->up_id[lo] != id) return 0;
  *lists = g->base + g->up_off[lo];
  return g->up_lv[lo];
}

/** Without a sidecar: the header, then a walk over every element's upper-level byte length. */
static const char *index_file(graph_t *g, char *why, size_t whylen) {
  const char *wrong = graph_header(g);
  if (wrong) return wrong;
  const uint8_t *p = g->base;
  size_t n = (size_t)g->count, cap = 0;
  size_t off = HEADER_BYTES + n * g->per;
  for (size_t i = 0; i < n; i++) {
    if (g->len - off < 4) { snprintf(why, whylen, "upper-level lists end early, at element %zu of %zu", i, n); return why; }
    uint32_t size = rd_u32(p + off);
    off += 4;
    if (size % g->per_level != 0 || size / g->per_level > (uint64_t)g->max_level || size > g->len - off) {
      snprintf(why, whylen, "element %zu's upper-level lists (%u bytes at offset %zu) are out of bounds", i, size, off - 4);
      return why;
    }
    if (size && !graph_upper_push(g, &cap, (uint32_t)i, (int64_t)off, (uint8_t)(size / g->per_level))) return "out of memory";
    off += size;
    g->deleted += marked_deleted(g, (uint32_t)i);
  }
  if (off != g->len) return "has bytes after its last upper-level list";
  const uint8_t *lists;
  if (n > 0 && graph_upper_of(g, g->entry, &lists) != g->max_level) return "entry point does not reach the top level";
  return NULL;
}


int graph_index(graph_t *g, char *why, size_t why_len) {
  char detail[256];
  const char *wrong = index_file(g, detail, sizeof detail);
  if (!wrong) return GRAPH_OK;
  snprintf(why, why_len, "%s", wrong);
  return strcmp(wrong, "out of memory") == 0 ? GRAPH_NOMEM : GRAPH_CORRUPT;
}

void graph_release(graph_t *g) {
  if (!g->closed && g->base && !g->borrowed) munmap((void *)g->base, g->len);
  g->closed = 1;
  free(g->up_id); free(g->up_off); free(g->up_lv); free(g->visited); free(g->top.a); free(g->cand.a); free(g->query);
  free(g->sums); free(g->verified); free(g->failure);
  codes_release(g->codes);
  g->codes = NULL;
  g->up_id = NULL; g->up_off = NULL; g->up_lv = NULL; g->visited = NULL; g->top.a = g->cand.a = NULL; g->query = NULL;
  g->sums = NULL; g->verified = NULL; g->failure = NULL;
}

float *graph_query(graph_t *g, const float *query) {
  float *q = g->query;
  memcpy(q, query, g->dim * sizeof(float));
  if (g->metric == METRIC_COSINE) {  // hnswlib-node's normalizePoint: a float sum in order, then divide
    float s = 0;
    for (size_t i = 0; i < g->dim; i++) s = s + q[i] * q[i];
    float norm = sqrtf(fabsf(s));
    if (norm > 0.0f) for (size_t i = 0; i < g->dim; i++) q[i] /= norm;
  }
  return q;
}

/** hnswlib's test for a result: not marked deleted, and allowed by the caller. 1, 0, or -1 (stop). */
static int allowed(const graph_t *g, const filter_t *f, uint32_t i) {
  if (marked_deleted(g, i)) return 0;
  uint64_t label = label_of(g, i);
  if (f->live && (label >= f->live_len || !f->live[label])) return 0;
  if (f->allow && (label >= f->allow_len || !f->allow[label])) return 0;
  return f->accept ? f->accept(f->ctx, label) : 1;
}

static int by_distance_then_label(const void *x, const void *y) {
  const double *a = x, *b = y;  // [distance, label] pairs
  if (a[0] != b[0]) return a[0] < b[0] ? -1 : 1;
  return a[1] < b[1] ? -1 : a[1] > b[1];
}

#define CORRUPT(...) do { snprintf(why, why_len, __VA_ARGS__); return GRAPH_CORRUPT; } while (0)

/** Whether every page under element i's level-0 record has matched its sum (checking those not yet checked). */
int graph_record_checked(graph_t *g, uint32_t i) {
  size_t start = HEADER_BYTES + (size_t)i * g->per;
  for (size_t p = start >> g->page_log2, last = (start + g->per - 1) >> g->page_log2; p <= last; p++)
    if (!g->verified[p] && !graph_check_page(g, p)) return 0;
  return 1;
}
// Before any byte of element i's record is used (its vector, links, label or delete mark): with a
// sidecar, its pages must have matched their sums; a mismatch fails this and every later search.
#define TOUCH(i) do { if (g->verified && !graph_record_checked(g, (i))) CORRUPT("%s", g->failure); } while (0)

int graph_search(graph_t *g, const float *query, uint32_t k, uint32_t ef, const filter_t *f, uint32_t *labels, float *dists, size_t *found, char *why, size_t why_len) {
  *found = 0;
  if (g->closed) { snprintf(why, why_len, "the graph was closed"); return GRAPH_STOPPED; }
  if (g->failure) CORRUPT("%s", g->failure);
  if (g->count == 0 || k == 0) return GRAPH_OK;
  float *q = graph_query(g, query);
  const uint64_t n = g->count;

  // Upper levels: greedy descent from the entry point (hnswlib searchKnn).
  uint32_t cur = g->entry;
  TOUCH(cur);
  float cur_d = graph_distance(g, q, vector_of(g, cur));
  for (int level = g->max_level; level > 0; level--) {
    int changed = 1;
    while (changed) {
      changed = 0;
      const uint8_t *lists = NULL;
      uint8_t levels = graph_upper_of(g, cur, &lists);
      if (levels < level) CORRUPT("element %u is linked at level %d but has %u upper levels", cur, level, levels);
      const uint8_t *list = lists + (size_t)(level - 1) * g->per_level;
      uint32_t size = rd_u16(list);
      if (size > g->max_m) CORRUPT("element %u has %u links at level %d, more than %llu", cur, size, level, (unsigned long long)g->max_m);
      for (uint32_t j = 0; j < size; j++) {
        uint32_t c = rd_u32(list + 4 + 4 * (size_t)j);
        if (c >= n) CORRUPT("element %u links to element %u, past the last (%llu)", cur, c, (unsigned long long)n);
        TOUCH(c);
        float d = graph_distance(g, q, vector_of(g, c));
        if (d < cur_d) { cur_d = d; cur = c; changed = 1; }
      }
    }
  }

  // Level 0 (hnswlib searchBaseLayerST).
  size_t width = ef > k ? ef : k;
  int bare = g->deleted == 0 && !f->live && !f->allow && !f->accept;
  if (++g->tag == 0) { memset(g->visited, 0, (size_t)n * sizeof *g->visited); g->tag = 1; }
  heap_t *top = &g->top, *cand = &g->cand;
  top->n = cand->n = 0;
  float bound;
  int oom = 0;
  int yes = bare ? 1 : allowed(g, f, cur);
  if (yes < 0) { snprintf(why, why_len, "the filter failed"); return GRAPH_STOPPED; }
  if (yes) {
    bound = cur_d;
    oom |= !graph_heap_push(top, cur_d, cur);
    oom |= !graph_heap_push(cand, -cur_d, cur);
  } else {
    bound = FLT_MAX;
    oom |= !graph_heap_push(cand, -FLT_MAX, cur);
  }
  g->visited[cur] = g->tag;
  while (cand->n > 0 && !oom) {
    pair_t next = cand->a[0];
    float next_d = -next.d;
    if (bare ? next_d > bound : next_d > bound && top->n == width) break;
    graph_heap_pop(cand);
    const uint8_t *links = record(g, next.id);
    uint32_t size = rd_u16(links);
    if (size > g->max_m0) CORRUPT("element %u has %u links at level 0, more than %llu", next.id, size, (unsigned long long)g->max_m0);
    for (uint32_t j = 1; j <= size; j++) {
      uint32_t c = rd_u32(links + 4 * (size_t)j);
      if (c >= n) CORRUPT("element %u links to element %u, past the last (%llu)", next.id, c, (unsigned long long)n);
      if (j < size) {
        uint32_t after = rd_u32(links + 4 * (size_t)(j + 1));
        if (after < n) __builtin_prefetch(vector_of(g, after));
      }
      if (g->visited[c] == g->tag) continue;
      g->visited[c] = g->tag;
      TOUCH(c);
      float d = graph_distance(g, q, vector_of(g, c));
      if (top->n < width || bound > d) {
        oom |= !graph_heap_push(cand, -d, c);
        yes = bare ? 1 : allowed(g, f, c);
        if (yes < 0) { snprintf(why, why_len, "the filter failed"); return GRAPH_STOPPED; }
        if (yes) oom |= !graph_heap_push(top, d, c);
        while (top->n > width) graph_heap_pop(top);
        if (top->n > 0) bound = top->a[0].d;
      }
    }
  }
  if (oom) { snprintf(why, why_len, "out of memory"); return GRAPH_NOMEM; }
  while (top->n > k) graph_heap_pop(top);

  // hnswlib-node hands these back nearest first, ties by label (its result heap orders pairs).
  size_t m = top->n;
  double *pairs = malloc((m ? m : 1) * 2 * sizeof(double));
  if (!pairs) { snprintf(why, why_len, "out of memory"); return GRAPH_NOMEM; }
  for (size_t i = 0; i < m; i++) {
    // The bare path trusts a count of delete marks that, with a sidecar, comes from the sidecar
    // (pages.c): a marked element among the results means that count was wrong, so the answer is not hnswlib's.
    if (bare && marked_deleted(g, top->a[i].id)) { free(pairs); CORRUPT("element %u is marked deleted, but the graph is said to hold no deleted element", top->a[i].id); }
    uint64_t label = label_of(g, top->a[i].id);
    if (label > 0xffffffffu) { free(pairs); CORRUPT("element %u has label %llu, beyond 32 bits", top->a[i].id, (unsigned long long)label); }
    pairs[2 * i] = top->a[i].d;
    pairs[2 * i + 1] = (double)label;
  }
  qsort(pairs, m, 2 * sizeof(double), by_distance_then_label);
  for (size_t i = 0; i < m; i++) { dists[i] = (float)pairs[2 * i]; labels[i] = (uint32_t)pairs[2 * i + 1]; }
  free(pairs);
  *found = m;
  return GRAPH_OK;
}
