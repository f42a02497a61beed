// @apollo/client's core in Node with its default HttpLink and InMemoryCache against a running
// server: every page of `tasks` forwards with `first`/`after`, a mutation, the list read again
// from the network, and a forged cursor. `node apollo.mjs '<scenario JSON>'` prints what each
// step answered as JSON; tests/clients/test_js_clients.py asserts it.
import { ApolloClient, CombinedGraphQLErrors, HttpLink, InMemoryCache, gql } from '@apollo/client';

const scenario = JSON.parse(process.argv[2]);
const client = new ApolloClient({
  link: new HttpLink({
    uri: scenario.url,
    headers: { authorization: `Bearer ${scenario.siti.token}` },
  }),
  cache: new InMemoryCache(),
});

const PAGE = gql`query Page($after: String) { tasks(first: 2, after: $after) {
  totalCount pageInfo { hasNextPage endCursor } edges { node { id title } } } }`;
const CREATE = gql`mutation Create($input: TaskCreateInput!) { taskCreate(input: $input) {
  task { id title status viewerCanUpdate } errors { message path ... on TaskError { code } } } }`;

async function walk() {
  const pages = [];
  let after = null;
  for (;;) {
    const { data } = await client.query({
      query: PAGE,
      variables: { after },
      fetchPolicy: 'network-only',
    });
    pages.push({
      totalCount: data.tasks.totalCount,
      titles: data.tasks.edges.map((edge) => edge.node.title),
    });
    if (!data.tasks.pageInfo.hasNextPage) return pages;
    after = data.tasks.pageInfo.endCursor;
  }
}

const answers = {};
answers.before = await walk();
answers.create = (
  await client.mutate({ mutation: CREATE, variables: { input: { title: 'Paint the hall' } } })
).data.taskCreate;
answers.after = await walk();
try {
  await client.query({ query: PAGE, variables: { after: 'not-a-cursor' } });
  answers.forged = 'accepted';
} catch (error) {
  if (!CombinedGraphQLErrors.is(error)) throw error;
  answers.forged = error.errors.map((e) => ({ path: e.path, extensions: e.extensions }));
}
console.log(JSON.stringify(answers));
