// @urql/core with its default exchanges (cacheExchange, fetchExchange) and default fetch options
// against a running server: a query, a mutation, a refusal, an unauthenticated request, a
// subscription over graphql-ws (subscriptionExchange with graphql-ws) and one over Server-Sent
// Events (fetchExchange with `fetchSubscriptions`). `node urql.mjs '<scenario JSON>'` prints what
// each step answered as JSON; tests/clients/test_js_clients.py asserts it.
import { Client, cacheExchange, fetchExchange, subscriptionExchange, gql } from '@urql/core';
import { createClient as createWsClient } from 'graphql-ws';
import WebSocket from 'ws';
import { untilEvent } from './events.mjs';

// Unsubscribing aborts the stream's fetch, and urql's teardown then cancels the aborted body's
// reader without awaiting it: a rejection nobody handles, which ends a Node process (a browser
// only logs it). That one is expected; anything else still fails the run.
process.on('unhandledRejection', (reason) => {
  if (reason?.name !== 'AbortError') throw reason;
});

const scenario = JSON.parse(process.argv[2]);
const bearer = (person) => () => ({ headers: { authorization: `Bearer ${person.token}` } });

const wsClient = createWsClient({
  url: scenario.ws,
  webSocketImpl: WebSocket,
  connectionParams: { authorization: `Bearer ${scenario.budi.token}` },
  lazy: true,
  retryAttempts: 0,
});
const budi = new Client({
  url: scenario.url,
  fetchOptions: bearer(scenario.budi),
  exchanges: [
    cacheExchange,
    fetchExchange,
    subscriptionExchange({
      forwardSubscription: (request) => ({
        subscribe: (sink) => ({ unsubscribe: wsClient.subscribe(request, sink) }),
      }),
    }),
  ],
});
const siti = new Client({
  url: scenario.url,
  fetchOptions: bearer(scenario.siti),
  fetchSubscriptions: true,
  exchanges: [cacheExchange, fetchExchange],
});
const anonymous = new Client({ url: scenario.url, exchanges: [cacheExchange, fetchExchange] });

const outcome = (result) => ({
  data: result.data ?? null,
  errors: result.error ? result.error.graphQLErrors.map((e) => e.extensions) : [],
  network: result.error?.networkError?.message ?? null,
});

const ME = gql`query Me { me { username roles } }`;
const OPEN = gql`query Open { tasks(first: 10, filter: {status: [OPEN]}) {
  totalCount edges { node { id title viewerCanClaim viewerCanStart } } } }`;
const CLAIM = gql`mutation Claim($id: ID!) { taskClaim(input: {taskId: $id}) {
  task { id status assignee { username } viewerCanClaim viewerCanStart }
  errors { message path ... on TaskError { code } } } }`;
const UPDATE = gql`mutation Rename($id: ID!, $title: String!) {
  taskUpdate(input: {taskId: $id, title: $title}) { task { title } errors { message } } }`;
const UPDATED = gql`subscription Updated($id: ID!) { taskUpdated(taskId: $id) {
  type task { title status assignee { username } } } }`;
const EVENTS = gql`subscription Events { taskEvents(filter: {createdByMe: true}) {
  type task { title } } }`;

const answers = {};
answers.me = outcome(await budi.query(ME, {}).toPromise());
answers.open = outcome(await budi.query(OPEN, {}).toPromise());
answers.claim = outcome(await budi.mutation(CLAIM, { id: scenario.taskId }).toPromise());
answers.claimAgain = outcome(await budi.mutation(CLAIM, { id: scenario.taskId }).toPromise());
answers.anonymous = outcome(await anonymous.query(OPEN, {}).toPromise());

const rename = (prefix) => async (round) => {
  const done = await siti.mutation(UPDATE, { id: scenario.taskId, title: `${prefix} ${round}` });
  if (done.error) throw done.error;
};
answers.overWebSocket = await untilEvent(
  budi.subscription(UPDATED, { id: scenario.taskId }),
  rename('Over WebSocket'),
);
answers.overEventStream = await untilEvent(siti.subscription(EVENTS, {}), rename('Over SSE'));
await wsClient.dispose();
console.log(JSON.stringify(answers));
