// PSS of K reader processes of one mode, all alive at once; open time to first answer.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { require, DATA, addon, usearch, HERE } from './paths.mjs';
const qmap = addon('qmap');
const N = Number(process.argv[2]), modes = process.argv[3].split(','), counts = process.argv[4].split(',').map(Number), cold = process.argv[5] === 'cold';
const rollup = (pid) => Object.fromEntries(fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8').split('\n').filter((l) => l.includes('kB')).map((l) => { const [k, v] = l.split(':'); return [k.trim(), Number(v.trim().split(/\s+/)[0]) / 1024]; }));
async function run(mode, k) {
  if (cold) for (const f of ['graph.hnsw', 'graph.usearch']) qmap.evict(`${DATA}/n${N}/${f}`);
  const kids = []; const reps = [];
  for (let i = 0; i < k; i++) {
    const p = spawn(process.execPath, [`${HERE}/reader.mjs`, mode, String(N), String(Date.now())], { stdio: ['pipe', 'pipe', 'inherit'] });
    kids.push(p);
    reps.push(new Promise((res) => { let b = ''; p.stdout.on('data', (d) => { b += d; if (b.includes('\n')) res(JSON.parse(b)); }); }));
  }
  const got = await Promise.all(reps);
  const r = got.map((g) => rollup(g.pid));
  const sum = (key) => r.reduce((a, x) => a + (x[key] ?? 0), 0);
  for (const p of kids) p.stdin.end();
  await Promise.all(kids.map((p) => new Promise((res) => p.on('exit', res))));
  const firsts = got.map((g) => g.first.sinceSpawn).sort((a, b) => a - b);
  console.log(JSON.stringify({ mode, k, cold, pssMB: +sum('Pss').toFixed(1), pssAnonMB: +sum('Pss_Anon').toFixed(1), pssFileMB: +sum('Pss_File').toFixed(1), rssEachMB: +(sum('Rss') / k).toFixed(1), firstAnswerMs: [firsts[0], firsts[firsts.length - 1]], openScriptMs: Math.round(got[0].first.sinceScript) }));
}
for (const mode of modes) for (const k of counts) await run(mode, k);
