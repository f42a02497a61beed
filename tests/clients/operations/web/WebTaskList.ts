import { graphql } from 'relay-runtime';

// The task board: filters, an order, pages of 20 forwards and backwards, and the total.
export const taskList = graphql`
  query WebTaskListQuery(
    $first: Int
    $after: String
    $last: Int
    $before: String
    $status: [TaskStatus!]
    $skills: [String!]
    $search: String
    $near: NearInput
    $orderBy: TaskOrderInput
  ) {
    tasks(
      first: $first
      after: $after
      last: $last
      before: $before
      filter: { status: $status, skills: $skills, search: $search, near: $near }
      orderBy: $orderBy
    ) {
      totalCount
      pageInfo {
        hasNextPage
        hasPreviousPage
        startCursor
        endCursor
      }
      edges {
        cursor
        node {
          id
          ...WebTaskList_card
        }
      }
    }
  }
`;

export const card = graphql`
  fragment WebTaskList_card on Task {
    title
    status
    difficulty
    estimatedHours
    location
    createdAt
    creator {
      username
      avatarUrl
    }
    assignee {
      username
    }
    skills {
      name
    }
    viewerCanClaim
  }
`;

export const skills = graphql`
  query WebTaskListSkillsQuery($search: String) {
    skills(first: 50, search: $search) {
      edges {
        node {
          id
          name
        }
      }
    }
  }
`;
