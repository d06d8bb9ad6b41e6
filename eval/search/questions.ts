import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadNpmCorpus } from './npm-corpus.js';

const LICENSES = '/usr/share/common-licenses';

/** The hand-judged questions (questions.json) and their corpus: licence texts and npm READMEs. */
export function loadQuestions(roots: string[]): { docs: { id: string; text: string }[]; questions: { question: string; relevant: string[] }[] } {
  const judged = JSON.parse(fs.readFileSync(new URL('./questions.json', import.meta.url), 'utf8')) as { questions: { question: string; relevant: string[] }[] };
  const docs: { id: string; text: string }[] = [];
  for (const f of fs.existsSync(LICENSES) ? fs.readdirSync(LICENSES).sort() : []) {
    const p = path.join(LICENSES, f);
    if (fs.lstatSync(p).isFile()) docs.push({ id: `license:${f}`, text: fs.readFileSync(p, 'utf8') });
  }
  for (const item of loadNpmCorpus(roots, false).items) docs.push({ id: item.name, text: item.doc });
  return { docs, questions: judged.questions };
}
