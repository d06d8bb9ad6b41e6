{
  "targets": [
    {
      "target_name": "qmap",
      "conditions": [
        ["OS!='win'", {
          "sources": ["qmap.c", "graph.c", "pages.c", "scan.c", "codes.c"],
          "cflags": ["-O3", "-std=gnu11", "-ffp-contract=off", "-fno-fast-math"],
          "xcode_settings": { "OTHER_CFLAGS": ["-O3", "-std=gnu11", "-ffp-contract=off"] }
        }]
      ]
    }
  ]
}
