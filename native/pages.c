// Page checksums for a mapped graph (issue #19 step 2; FORMAT.md "Graph sidecar").
//
// A graph saved with a sidecar is not checked whole before it is mapped: that would read the
// whole file (1.7 GB at 1M x 384) before a reader's first answer. Instead the sidecar, small and
// checked whole by the caller, holds a CRC32C per page. At open the pages of the header and of
// the upper-level area are checked (every search starts there); each level-0 page is checked the
// first time a search is about to use a record on it, so no byte is used before it has matched.
#define _GNU_SOURCE
#include "graph.h"
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
#include <string.h>
#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

static uint64_t rd_u64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static uint32_t rd_u32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }

// ---- CRC32C: the SSE4.2 instruction where the CPU has it, else a table ----
static uint32_t table[256];
static int hardware = -1;
// Once per process, whatever thread gets here first (worker threads load the addon too): the
// table must be whole before any thread reads `hardware`.
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void setup(void) {
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++) c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
    table[i] = c;
  }
#if defined(__x86_64__)
  __builtin_cpu_init();
  hardware = __builtin_cpu_supports("sse4.2") ? 1 : 0;
#else
  hardware = 0;
#endif
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t crc_hw(uint32_t c, const uint8_t *p, size_t n) {
  for (; n >= 8; p += 8, n -= 8) c = (uint32_t)_mm_crc32_u64(c, rd_u64(p));
  for (; n > 0; p++, n--) c = _mm_crc32_u8(c, *p);
  return c;
}
#endif

uint32_t graph_crc32c(const uint8_t *p, size_t n) {
  pthread_once(&once, setup);
  uint32_t c = 0xffffffffu;
#if defined(__x86_64__)
  if (hardware) return ~crc_hw(c, p, n);
#endif
  for (; n > 0; p++, n--) c = table[(c ^ *p) & 0xff] ^ (c >> 8);
  return ~c;
}

int graph_bytes_sum(const uint8_t *bytes, size_t n, size_t p, size_t at, uint32_t want, uint8_t *verified, char **failure, const char *what, const char *where) {
  if (*failure) return 0;
  if (graph_crc32c(bytes, n) == want) {
    verified[p] = 1;
    return 1;
  }
  char msg[200];
  snprintf(msg, sizeof msg, "%s %zu (bytes %zu to %zu) does not match its checksum%s", what, p, at, at + n - 1, where);
  *failure = strdup(msg);
  // Without memory for the message the graph still fails: a fixed one stands in.
  if (!*failure) *failure = strdup("a page does not match its checksum");
  return 0;
}

int graph_page_sum(const uint8_t *base, size_t len, const uint32_t *sums, uint8_t *verified, unsigned log2, size_t p, char **failure, const char *what, const char *where) {
  size_t size = (size_t)1 << log2, at = p << log2;
  return graph_bytes_sum(base + at, len - at < size ? len - at : size, p, at, sums[p], verified, failure, what, where);
}

int graph_check_page(graph_t *g, size_t p) {
  return graph_page_sum(g->base, g->len, g->sums, g->verified, g->page_log2, p, &g->failure, "page", " in the graph's sidecar");
}

static const char *index_paged(graph_t *g, const sidecar_t *s, char *why, size_t whylen) {
  const char *wrong = graph_header(g);
  if (wrong) return wrong;
  size_t n = (size_t)g->count;
  if (s->bytes != g->len) { snprintf(why, whylen, "is %zu bytes, its sidecar says %llu", g->len, (unsigned long long)s->bytes); return why; }
  if (s->count != g->count) return "holds a different element count than its sidecar says";
  if (s->page_log2 < 12 || s->page_log2 > 24) return "sidecar's page size is out of range";
  g->page_log2 = s->page_log2;
  size_t page = (size_t)1 << g->page_log2;
  g->pages = (g->len + page - 1) / page;
  uint64_t upper_start = GRAPH_HEADER_BYTES + (uint64_t)n * g->per;
  if (s->pages != g->pages || s->upper_start != upper_start || s->nupper > n || s->deleted > n) return "sidecar does not describe this graph";
  g->sums = malloc(g->pages * 4);
  g->verified = calloc(g->pages, 1);
  if (!g->sums || !g->verified) return "out of memory";
  for (size_t p = 0; p < g->pages; p++) g->sums[p] = rd_u32(s->sums + 4 * p);
  // The header's page and the upper-level area: every search begins with them.
  if (!graph_check_page(g, 0)) return g->failure;
  for (size_t p = (size_t)(upper_start >> g->page_log2); p < g->pages; p++)
    if (!g->verified[p] && !graph_check_page(g, p)) return g->failure;
  // The upper lists' places, from the sidecar, each checked against the length word before it.
  size_t cap = 0;
  uint64_t before = 0;  // bytes of upper-level lists of the elements before this one
  uint32_t last = 0;
  for (size_t j = 0; j < s->nupper; j++) {
    uint32_t id = rd_u32(s->upper + 8 * j), levels = rd_u32(s->upper + 8 * j + 4);
    if (id >= n || (j > 0 && id <= last) || levels == 0 || levels > (uint32_t)g->max_level) return "sidecar's upper-level table is out of order or out of range";
    uint64_t size = (uint64_t)levels * g->per_level, off = upper_start + 4 * ((uint64_t)id + 1) + before;
    if (off > g->len || size > g->len - off || rd_u32(g->base + off - 4) != size) return "sidecar's upper-level table does not match the graph";
    if (!graph_upper_push(g, &cap, id, (int64_t)off, (uint8_t)levels)) return "out of memory";
    before += size;
    last = id;
  }
  if (upper_start + 4 * (uint64_t)n + before != g->len) return "sidecar's upper-level table does not match the graph";
  g->deleted = s->deleted;
  if (n > 0) {
    size_t lo = 0, hi = g->nupper;
    while (lo < hi) { size_t mid = lo + (hi - lo) / 2; if (g->up_id[mid] < g->entry) lo = mid + 1; else hi = mid; }
    uint8_t top = lo < g->nupper && g->up_id[lo] == g->entry ? g->up_lv[lo] : 0;
    if (top != g->max_level) return "entry point does not reach the top level";
  }
  return NULL;
}

int graph_index_paged(graph_t *g, const sidecar_t *s, char *why, size_t why_len) {
  char detail[256];
  const char *wrong = index_paged(g, s, detail, sizeof detail);
  if (!wrong) return GRAPH_OK;
  snprintf(why, why_len, "%s", wrong);
  return strcmp(wrong, "out of memory") == 0 ? GRAPH_NOMEM : GRAPH_CORRUPT;
}
