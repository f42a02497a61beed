// The GraphQL-over-HTTP conformance audit of graphql-http (its serverAudits) against a running
// server: `node graphql-http-audit.mjs http://127.0.0.1:8000/graphql`.
// Prints one line per audit; exits 1 when any audit is not `ok`, with the reason and the answer.
import { serverAudits } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  console.error('usage: node graphql-http-audit.mjs <graphql endpoint URL>');
  process.exit(2);
}

const failures = [];
let count = 0;
for (const audit of serverAudits({ url, fetchFn: fetch })) {
  const result = await audit.fn();
  count += 1;
  console.log(`${result.status.padEnd(6)} ${result.id} ${result.name}`);
  if (result.status !== 'ok') {
    const body = await result.response.text().catch(() => '');
    failures.push(
      `${result.status} ${result.id} ${result.name}\n  reason: ${result.reason}\n` +
        `  answer: ${result.response.status} ${result.response.headers.get('content-type')}\n` +
        `  body: ${body.slice(0, 500)}`,
    );
  }
}
console.log(`${count - failures.length} of ${count} audits ok`);
if (failures.length) {
  console.error(failures.join('\n'));
  process.exit(1);
}
