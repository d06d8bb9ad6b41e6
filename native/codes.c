// A graph's int8 codes (issue #19, "beyond RAM"; FORMAT.md "Graph codes"): the graph's level-0
// links and labels, and each element's vector as one byte per dimension, in a file of their own
// (`vault_<n>_<e>.hnsw.q8`). A reader searches these instead of the graph's float32 vectors, so
// what it keeps in memory per vector is its links, 8 bytes and D bytes of codes; the `ef` best it
// finds are then re-ranked by their float32 vectors, read from the graph file with pread(2).
//
// The code of component i is u = round((x - lo[i]) / step[i]), 0..255, with lo and step per
// dimension over the vectors of that graph, so x is about lo[i] + step[i] * u. For a query q:
//   q . x  ~  sum(q[i] lo[i]) + sum((q[i] step[i]) u[i]),
// the second sum in int16 fixed point against the u8 codes (pmaddwd), a quarter of the bytes of a
// float32 row. l2 adds |q|^2 and the row's stored |x^|^2 (x^ the decoded vector).
//
// Nothing read from the file is trusted before its page has matched its sum (FORMAT.md), and
// every link is checked against the element count before it is followed, as in graph.c.
#define _GNU_SOURCE
#include "graph.h"
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define CODES_HEADER 64
#define CODES_VERSION 1
#define CODES_INT8 1

struct codes {
  const uint8_t *base;
  size_t len, stride, rows_off, links;
  const float *lo, *step;
  uint32_t *sums;
  uint8_t *verified;
  size_t pages;
  unsigned page_log2;
  int16_t *w;  // per query: q[i] * step[i] in fixed point, w_inv a unit
  float w_inv;
  // The re-rank reads float32 vectors with pread(2), not through the graph's map: a fault on a
  // mapped page maps the page cache's whole folio around it (up to 2 MiB on current kernels), so
  // reading 100 vectors in place would make most of the graph this process's resident memory.
  int fd;
  uint8_t *buf;     // whole pages around one record (to check them), or one record
  float *vec;
};

static uint64_t rd_u64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static uint32_t rd_u32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint16_t rd_u16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static size_t align_up(size_t n, size_t to) { return (n + to - 1) / to * to; }

void codes_release(codes_t *c) {
  if (!c) return;
  if (c->fd >= 0) close(c->fd);
  free(c->sums); free(c->verified); free(c->w); free(c->buf); free(c->vec);
  free(c);
}

static int check_page(graph_t *g, codes_t *c, size_t p) {
  return graph_page_sum(c->base, c->len, c->sums, c->verified, c->page_log2, p, &g->failure, "codes page", "");
}

static const char *attach(graph_t *g, const uint8_t *b, size_t len, uint32_t graph_crc, int fd, codes_t **out) {
  if (len < CODES_HEADER) return "codes: shorter than their header";
  if (memcmp(b, "QVQ8", 4) != 0) return "codes: not a codes file (magic)";
  if (graph_crc32c(b, 60) != rd_u32(b + 60)) return "codes: header does not match its checksum";
  if (rd_u32(b + 4) != CODES_VERSION || rd_u32(b + 8) != CODES_INT8) return "codes: a version or kind this build does not read";
  size_t dim = rd_u32(b + 12), links = rd_u32(b + 24), stride = rd_u32(b + 28);
  uint64_t count = rd_u64(b + 16), rows_off = rd_u64(b + 32);
  unsigned log2 = rd_u32(b + 40);
  if (dim != g->dim || count != g->count || links != 4 + 4 * g->max_m0) return "codes: made for another graph (dimension, count or links)";
  if (rd_u32(b + 44) != graph_crc || rd_u64(b + 48) != g->len) return "codes: made for another graph (its size or checksum)";
  if (stride != align_up(links + 8 + dim, 4) || rows_off != align_up(CODES_HEADER + 8 * dim, 64) || log2 < 12 || log2 > 24) return "codes: header's layout is not this build's";
  size_t sums_off = (size_t)rows_off + (size_t)count * stride, page = (size_t)1 << log2, pages = (sums_off + page - 1) / page;
  if (len != sums_off + 4 * pages + 4) return "codes: file size does not match its header";
  if (graph_crc32c(b + sums_off, 4 * pages) != rd_u32(b + len - 4)) return "codes: page sums do not match their checksum";
  codes_t *c = calloc(1, sizeof *c);
  if (!c) return "out of memory";
  c->fd = fd;
  *out = c;
  c->base = b; c->len = sums_off; c->stride = stride; c->rows_off = rows_off; c->links = links; c->page_log2 = log2; c->pages = pages;
  c->lo = (const float *)(b + CODES_HEADER);
  c->step = c->lo + dim;
  c->sums = malloc(pages * 4);
  c->verified = calloc(pages, 1);
  c->w = malloc(dim * sizeof(int16_t));
  c->vec = malloc(dim * sizeof(float));
  // A record spans at most per / page + 2 of the graph's pages.
  c->buf = malloc(((g->per >> (g->verified ? g->page_log2 : 12)) + 2) << (g->verified ? g->page_log2 : 12));
  if (!c->sums || !c->verified || !c->w || !c->vec || !c->buf) return "out of memory";
  for (size_t p = 0; p < pages; p++) c->sums[p] = rd_u32(b + sums_off + 4 * p);
  // The header and the scales, used by every search.
  for (size_t p = 0; p <= (rows_off - 1) >> log2; p++)
    if (!check_page(g, c, p)) return g->failure;
  return NULL;
}

int codes_attach(graph_t *g, const uint8_t *base, size_t len, uint32_t graph_crc, int graph_fd, char *why, size_t why_len) {
  codes_t *c = NULL;
  const char *wrong = attach(g, base, len, graph_crc, graph_fd, &c);
  if (!wrong) {
    codes_release(g->codes);
    g->codes = c;
    return GRAPH_OK;
  }
  snprintf(why, why_len, "%s", wrong);
  // The descriptor is the codes' once they exist (released with them), the caller's no more either way.
  if (c) codes_release(c);
  else close(graph_fd);
  return strcmp(wrong, "out of memory") == 0 ? GRAPH_NOMEM : GRAPH_CORRUPT;
}

static inline const uint8_t *row(const codes_t *c, uint32_t i) { return c->base + c->rows_off + (size_t)i * c->stride; }
static inline uint32_t row_label(const codes_t *c, uint32_t i) { return rd_u32(row(c, i) + c->links); }

static inline int row_checked(graph_t *g, codes_t *c, uint32_t i) {
  size_t start = c->rows_off + (size_t)i * c->stride;
  for (size_t p = start >> c->page_log2, last = (start + c->stride - 1) >> c->page_log2; p <= last; p++)
    if (!c->verified[p] && !check_page(g, c, p)) return 0;
  return 1;
}

/** sum(w[i] * u[i]) in int32 (the weights are scaled so it cannot overflow): eight u16 x i16 pairs a step (pmaddwd). */
static inline int32_t dot_codes(const int16_t *w, const uint8_t *u, size_t d) {
  size_t i = 0;
  int32_t s = 0;
#ifdef __SSE2__
  __m128i a = _mm_setzero_si128(), b = _mm_setzero_si128();
  const __m128i zero = _mm_setzero_si128();
  for (; i + 16 <= d; i += 16) {
    __m128i x = _mm_loadu_si128((const __m128i *)(u + i));
    a = _mm_add_epi32(a, _mm_madd_epi16(_mm_unpacklo_epi8(x, zero), _mm_loadu_si128((const __m128i *)(w + i))));
    b = _mm_add_epi32(b, _mm_madd_epi16(_mm_unpackhi_epi8(x, zero), _mm_loadu_si128((const __m128i *)(w + i + 8))));
  }
  int32_t t[4];
  _mm_storeu_si128((__m128i *)t, _mm_add_epi32(a, b));
  s = t[0] + t[1] + t[2] + t[3];
#endif
  for (; i < d; i++) s += (int32_t)w[i] * (int32_t)u[i];
  return s;
}

typedef struct { float base, qq; int l2; } qform_t;

static inline float code_distance(const codes_t *c, const qform_t *f, uint32_t i, size_t dim) {
  const uint8_t *r = row(c, i);
  float dot = f->base + c->w_inv * (float)dot_codes(c->w, r + c->links + 8, dim);
  if (!f->l2) return 1.0f - dot;
  float sq;
  memcpy(&sq, r + c->links + 4, 4);
  return f->qq - 2.0f * dot + sq;
}

/** hnswlib's test for a result, on the codes' copy of the delete mark and label. 1, 0, or -1 (stop). */
static int allowed(const codes_t *c, const filter_t *f, uint32_t i) {
  if (row(c, i)[2] & 1) return 0;
  uint64_t label = row_label(c, i);
  if (f->live && (label >= f->live_len || !f->live[label])) return 0;
  if (f->allow && (label >= f->allow_len || !f->allow[label])) return 0;
  return f->accept ? f->accept(f->ctx, label) : 1;
}

static int by_distance_then_label(const void *x, const void *y) {
  const double *a = x, *b = y;
  if (a[0] != b[0]) return a[0] < b[0] ? -1 : 1;
  return a[1] < b[1] ? -1 : a[1] > b[1];
}

/** Reads n bytes at `at` (pread until done). 0, or errno. */
static int read_at(int fd, uint8_t *into, size_t n, size_t at) {
  for (size_t done = 0; done < n; ) {
    ssize_t r = pread(fd, into + done, n - done, (off_t)(at + done));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return r < 0 ? errno : EIO;
    done += (size_t)r;
  }
  return 0;
}

/**
 * Element id's float32 vector into c->vec and its label, read from the graph file. With page sums
 * a page not yet checked is read whole and checked first (the graph's own "verified" marks, as a
 * mapped search would), so no unchecked byte is used.
 */
static int read_vector(graph_t *g, codes_t *c, uint32_t id, uint64_t *label, char *why, size_t why_len) {
  size_t start = GRAPH_HEADER_BYTES + (size_t)id * g->per, from = start, n = g->per;
  if (g->failure) { snprintf(why, why_len, "%s", g->failure); return GRAPH_CORRUPT; }
  int whole = 0;
  if (g->verified) {
    size_t p0 = start >> g->page_log2, p1 = (start + g->per - 1) >> g->page_log2;
    for (size_t p = p0; p <= p1; p++) whole |= !g->verified[p];
    if (whole) {
      from = p0 << g->page_log2;
      size_t to = (p1 + 1) << g->page_log2;
      n = (to > g->len ? g->len : to) - from;
    }
  }
  int e = read_at(c->fd, c->buf, n, from);
  if (e) { snprintf(why, why_len, "reading element %u of the graph: %s", id, strerror(e)); return GRAPH_IO; }
  if (whole) {
    size_t page = (size_t)1 << g->page_log2;
    for (size_t at = 0; at < n; at += page) {
      size_t p = (from + at) >> g->page_log2;
      if (g->verified[p]) continue;
      // The same check, and message, as a mapped search's (pages.c graph_check_page), on the bytes read.
      if (!graph_bytes_sum(c->buf + at, n - at < page ? n - at : page, p, from + at, g->sums[p], g->verified, &g->failure, "page", " in the graph's sidecar")) {
        snprintf(why, why_len, "%s", g->failure);
        return GRAPH_CORRUPT;
      }
    }
  }
  const uint8_t *rec = c->buf + (start - from);
  *label = rd_u64(rec + g->label_off);
  memcpy(c->vec, rec + g->data_off, g->dim * sizeof(float));
  return GRAPH_OK;
}

#define CORRUPT(...) do { snprintf(why, why_len, __VA_ARGS__); return GRAPH_CORRUPT; } while (0)
#define CTOUCH(i) do { if (!row_checked(g, c, (i))) CORRUPT("%s", g->failure); } while (0)

int codes_search(graph_t *g, const float *query, uint32_t k, uint32_t ef, const filter_t *f, uint32_t *labels, float *dists, size_t *found, char *why, size_t why_len) {
  *found = 0;
  codes_t *c = g->codes;
  if (g->closed) { snprintf(why, why_len, "the graph was closed"); return GRAPH_STOPPED; }
  if (g->failure) CORRUPT("%s", g->failure);
  if (g->count == 0 || k == 0) return GRAPH_OK;
  const size_t dim = g->dim;
  const uint64_t n = g->count;
  float *q = graph_query(g, query);
  qform_t form = { 0, 0, g->metric == METRIC_L2 };
  // The weights q[i] step[i] as int16 in units of 1/scale, the largest at `most`: small enough that
  // dim x 255 x most stays inside int32, so the kernel's sums never overflow.
  float wmax = 0;
  for (size_t i = 0; i < dim; i++) {
    float w = q[i] * c->step[i];
    if (fabsf(w) > wmax) wmax = fabsf(w);
    form.base += q[i] * c->lo[i];
    form.qq += q[i] * q[i];
  }
  double most = 2147483647.0 / (255.0 * (double)dim);
  if (most > 16383) most = 16383;
  double scale = wmax > 0 ? most / wmax : 0;
  for (size_t i = 0; i < dim; i++) c->w[i] = (int16_t)lrint((double)(q[i] * c->step[i]) * scale);
  c->w_inv = scale > 0 ? (float)(1.0 / scale) : 0;

  // Upper levels: greedy descent from the entry point, on the codes.
  uint32_t cur = g->entry;
  CTOUCH(cur);
  float cur_d = code_distance(c, &form, cur, dim);
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
        uint32_t e = rd_u32(list + 4 + 4 * (size_t)j);
        if (e >= n) CORRUPT("element %u links to element %u, past the last (%llu)", cur, e, (unsigned long long)n);
        CTOUCH(e);
        float d = code_distance(c, &form, e, dim);
        if (d < cur_d) { cur_d = d; cur = e; changed = 1; }
      }
    }
  }

  // Level 0, as graph_search, `ef` wide, on the codes' links.
  size_t width = ef > k ? ef : k;
  int bare = g->deleted == 0 && !f->live && !f->allow && !f->accept;
  if (++g->tag == 0) { memset(g->visited, 0, (size_t)n * sizeof *g->visited); g->tag = 1; }
  heap_t *top = &g->top, *cand = &g->cand;
  top->n = cand->n = 0;
  float bound;
  int oom = 0;
  int yes = bare ? 1 : allowed(c, f, cur);
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
    const uint8_t *links = row(c, next.id);
    uint32_t size = rd_u16(links);
    if (size > g->max_m0) CORRUPT("codes: element %u has %u links at level 0, more than %llu", next.id, size, (unsigned long long)g->max_m0);
    for (uint32_t j = 1; j <= size; j++) {
      uint32_t e = rd_u32(links + 4 * (size_t)j);
      if (e >= n) CORRUPT("codes: element %u links to element %u, past the last (%llu)", next.id, e, (unsigned long long)n);
      if (j < size) {
        uint32_t after = rd_u32(links + 4 * (size_t)(j + 1));
        if (after < n) __builtin_prefetch(row(c, after) + c->links);
      }
      if (g->visited[e] == g->tag) continue;
      g->visited[e] = g->tag;
      CTOUCH(e);
      float d = code_distance(c, &form, e, dim);
      if (top->n < width || bound > d) {
        oom |= !graph_heap_push(cand, -d, e);
        yes = bare ? 1 : allowed(c, f, e);
        if (yes < 0) { snprintf(why, why_len, "the filter failed"); return GRAPH_STOPPED; }
        if (yes) oom |= !graph_heap_push(top, d, e);
        while (top->n > width) graph_heap_pop(top);
        if (top->n > 0) bound = top->a[0].d;
      }
    }
  }
  if (oom) { snprintf(why, why_len, "out of memory"); return GRAPH_NOMEM; }

  // Re-rank all `width` by the float32 vectors in the graph (hnswlib's own distance), then keep k.
  size_t m = top->n;
  double *pairs = malloc((m ? m : 1) * 2 * sizeof(double));
  if (!pairs) { snprintf(why, why_len, "out of memory"); return GRAPH_NOMEM; }
  for (size_t i = 0; i < m; i++) {
    uint32_t id = top->a[i].id;
    if (bare && (row(c, id)[2] & 1)) { free(pairs); CORRUPT("codes: element %u is marked deleted, but the graph is said to hold no deleted element", id); }
    uint64_t label;
    int status = read_vector(g, c, id, &label, why, why_len);
    if (status != GRAPH_OK) { free(pairs); return status; }
    if (label != row_label(c, id)) { free(pairs); CORRUPT("codes: element %u has label %llu in the graph and %u in its codes", id, (unsigned long long)label, row_label(c, id)); }
    pairs[2 * i] = graph_distance(g, q, c->vec);
    pairs[2 * i + 1] = (double)label;
  }
  qsort(pairs, m, 2 * sizeof(double), by_distance_then_label);
  if (m > k) m = k;
  for (size_t i = 0; i < m; i++) { dists[i] = (float)pairs[2 * i]; labels[i] = (uint32_t)pairs[2 * i + 1]; }
  free(pairs);
  *found = m;
  return GRAPH_OK;
}
