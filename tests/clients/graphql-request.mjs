// graphql-request's GraphQLClient with its defaults against a running server: a query with the
// viewer's permissions, a mutation, a refusal in the payload, and a request error (an enum
// value the schema does not have). `node graphql-request.mjs '<scenario JSON>'` prints what each
// step answered as JSON; tests/clients/test_js_clients.py asserts it.
import { ClientError, GraphQLClient, gql } from 'graphql-request';

const scenario = JSON.parse(process.argv[2]);
const client = new GraphQLClient(scenario.url, {
  headers: { authorization: `Bearer ${scenario.budi.token}` },
});

const TASK = gql`query Task($id: ID!) { task(id: $id) {
  title status creator { username } viewerCanUpdate viewerCanClaim viewerCanCancel } }`;
const VOUCH = gql`mutation Vouch($input: VouchCreateInput!) { vouchCreate(input: $input) {
  vouch { weightHint message voucher { username } vouchee { username } skill { name } }
  errors { message path ... on VouchError { code } } } }`;

const answers = {};
const task = await client.rawRequest(TASK, { id: scenario.taskId });
answers.task = { data: task.data, status: task.status, type: task.headers.get('content-type') };
const vouch = {
  voucheeId: scenario.siti.id,
  skill: 'Roof Repair',
  weightHint: 'STRONG',
  message: 'She fixed three roofs with us.',
};
answers.vouch = await client.request(VOUCH, { input: vouch });
answers.again = await client.request(VOUCH, { input: vouch });
try {
  await client.request(VOUCH, { input: { ...vouch, weightHint: 'strong' } });
  answers.lowerCase = 'accepted';
} catch (error) {
  if (!(error instanceof ClientError)) throw error;
  answers.lowerCase = {
    status: error.response.status,
    codes: error.response.errors.map((e) => e.extensions.code),
    data: error.response.data ?? null,
  };
}
console.log(JSON.stringify(answers));
