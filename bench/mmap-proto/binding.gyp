{ "targets": [
  { "target_name": "qmap", "sources": ["qmap.c"], "cflags": ["-O3", "-std=gnu11", "-msse4.2"] },
  { "target_name": "qmap_avx2", "sources": ["qmap.c"], "cflags": ["-O3", "-std=gnu11", "-mavx2", "-mfma", "-msse4.2"] }
] }
