// Rewrites docs/undocumented.json: the exported members TypeDoc finds without a doc comment (its
// notDocumented validation, with no exceptions). For merging branches that brought undocumented
// members; `npm run docs:check` then passes again. Prefer writing the doc comments: the list should
// only shrink. Run: node scripts/list-undocumented.mjs
import { writeFileSync } from 'node:fs';
import { Application, Logger, LogLevel } from 'typedoc';

const app = await Application.bootstrapWithPlugins({ intentionallyNotDocumented: [], logLevel: 'Warn' });
const names = new Set();
class Collect extends Logger {
  log(message, level) {
    const m = /^(\S+) \(\w+\), defined in .* does not have any documentation$/.exec(message);
    if (m) names.add(m[1]);
    else if (level >= LogLevel.Warn) console.error(message);
  }
}
app.logger = new Collect();
const project = await app.convert();
if (!project) throw new Error('typedoc could not convert the project');
app.validate(project);
const list = [...names].sort();
writeFileSync(new URL('../docs/undocumented.json', import.meta.url), `[\n${list.map((n) => JSON.stringify(n)).join(',\n')}\n]\n`);
console.log(`docs/undocumented.json: ${list.length} names`);
