import { graphql } from 'relay-runtime';

// The app's home screen: the viewer's assigned tasks, paged, and live changes to one of them.
export const myTasks = graphql`
  query MobileMyTasksQuery($first: Int, $after: String) {
    me {
      id
      username
      tasksAssigned(first: $first, after: $after) {
        totalCount
        pageInfo {
          hasNextPage
          endCursor
        }
        edges {
          node {
            id
            title
            status
            viewerCanStart
            viewerCanComplete
          }
        }
      }
    }
  }
`;

export const start = graphql`
  mutation MobileMyTasksStartMutation($taskId: ID!) {
    taskStart(input: { taskId: $taskId }) {
      task {
        id
        status
      }
      errors {
        message
        ... on TaskError {
          code
        }
      }
    }
  }
`;

export const complete = graphql`
  mutation MobileMyTasksCompleteMutation($input: TaskCompleteInput!) {
    taskComplete(input: $input) {
      task {
        id
        status
        completedAt
      }
      contribution {
        id
        contributionType
        verificationStatus
        viewerCanAddEvidence
      }
      errors {
        message
        path
        ... on TaskError {
          code
        }
      }
    }
  }
`;

export const updated = graphql`
  subscription MobileMyTasksUpdatedSubscription($taskId: ID!) {
    taskUpdated(taskId: $taskId) {
      type
      at
      task {
        id
        status
        viewerCanComplete
      }
    }
  }
`;
