// The changes between two SDL files, as @graphql-inspector/core (what `graphql-inspector diff`
// runs) classifies them: `node schema-diff.mjs <old.graphql> <new.graphql>` prints a JSON array of
// {criticality, type, path, message}, one per change, BREAKING ones first.
import { readFileSync } from 'node:fs';
import { buildSchema } from 'graphql';
import { diff, CriticalityLevel } from '@graphql-inspector/core';

const [before, after] = process.argv.slice(2);
if (!before || !after) {
  console.error('usage: node schema-diff.mjs <old.graphql> <new.graphql>');
  process.exit(2);
}
const load = (path) => buildSchema(readFileSync(path, 'utf8'));
const order = [CriticalityLevel.Breaking, CriticalityLevel.Dangerous, CriticalityLevel.NonBreaking];
const changes = (await diff(load(before), load(after)))
  .map((change) => ({
    criticality: change.criticality.level,
    type: change.type,
    path: change.path ?? null,
    message: change.message,
  }))
  .sort((a, b) => order.indexOf(a.criticality) - order.indexOf(b.criticality));
console.log(JSON.stringify(changes, null, 1));
