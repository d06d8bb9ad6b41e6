import * as fs from 'node:fs';
import * as path from 'node:path';
import { FORMAT_VERSION, GRAPH_SEGMENT_VERSION, SectionKind } from '../../src/format/constants.js';
import { crc32c } from '../../src/format/crc.js';
import { decodeSectioned, encodeSectioned } from '../../src/format/sectioned-file.js';
import { GRAPH_HEADER, GraphRows, graphShape } from '../../src/segments/graph-vectors.js';
import { decodeManifest, encodeManifest } from '../../src/segments/manifest.js';

/**
 * Turns a database's segments into the form builds before "vectors stored once" wrote (FORMAT.md
 * "Segment files"): version 1, a VECTORS section holding every row's float32 in VECTORS' place of
 * GRAPH_VECTORS, the graph unchanged; the manifest is rewritten with the new sizes and CRCs. The
 * vectors are rebuilt from the graph here, independently of the engine's read path.
 */
export function withVectorSections(dir: string): void {
  const file = path.join(dir, 'quiver.manifest');
  const manifest = decodeManifest(fs.readFileSync(file));
  for (const v of manifest.vaults) {
    const segmentFile = path.join(dir, v.segment.path);
    const parsed = decodeSectioned(fs.readFileSync(segmentFile), 'segment', v.segment.path);
    if (parsed.version !== GRAPH_SEGMENT_VERSION) continue;
    const graph = fs.readFileSync(path.join(dir, v.graph!.path));
    const shape = graphShape(graph);
    const section = parsed.sections.find((s) => s.kind === SectionKind.graphVectors)!;
    // The label follows the vector in a level-0 record.
    const dimension = (shape.labelOff - shape.dataOff) / 4;
    const rows = GraphRows.decode(section.payload, dimension, v.segment.path);
    const out = new Float32Array(rows.count * dimension);
    const floats = new Float32Array(graph.buffer, graph.byteOffset, Math.floor(graph.byteLength / 4));
    for (let row = 0; row < rows.count; row++) {
      const at = GRAPH_HEADER + rows.elements[row]! * shape.per + shape.dataOff;
      rows.reconstruct(row, floats, at / 4, out, new Uint32Array(out.buffer), row * dimension, v.segment.path);
    }
    const sections = parsed.sections.map((s) => (s.kind === SectionKind.graphVectors ? { kind: SectionKind.vectors, payload: new Uint8Array(out.buffer) } : s));
    const bytes = Buffer.concat(encodeSectioned('segment', FORMAT_VERSION, sections));
    fs.writeFileSync(segmentFile, bytes);
    v.segment = { path: v.segment.path, bytes: bytes.byteLength, crc32c: crc32c(bytes) };
  }
  fs.writeFileSync(file, Buffer.concat(encodeManifest(manifest)));
}
