import { graphql } from 'relay-runtime';

// A task's page: what the viewer may do (the buttons), its people, history and contribution.
export const taskDetail = graphql`
  query WebTaskDetailQuery($id: ID!) {
    task(id: $id) {
      id
      title
      description
      status
      difficulty
      location
      latitude
      longitude
      estimatedHours
      metadata
      createdAt
      updatedAt
      completedAt
      creator {
        id
        username
      }
      assignee {
        id
        username
      }
      skills {
        id
        name
      }
      viewerCanUpdate
      viewerCanAssign
      viewerCanClaim
      viewerCanStart
      viewerCanComplete
      viewerCanCancel
      assignments(first: 5) {
        edges {
          node {
            status
            assignedAt
            user {
              username
            }
          }
        }
      }
      history(last: 10) {
        totalCount
        edges {
          node {
            action
            at
            actor {
              username
            }
          }
        }
      }
      contribution {
        id
        verificationStatus
        viewerCanVerify
        viewerCanAddEvidence
      }
    }
  }
`;

export const claim = graphql`
  mutation WebTaskDetailClaimMutation($taskId: ID!) {
    taskClaim(input: { taskId: $taskId }) {
      task {
        id
        status
        assignee {
          username
        }
        viewerCanClaim
        viewerCanStart
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

export const create = graphql`
  mutation WebTaskDetailCreateMutation($input: TaskCreateInput!) {
    taskCreate(input: $input) {
      task {
        id
        title
        status
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

export const events = graphql`
  subscription WebTaskDetailEventsSubscription($status: [TaskStatus!]) {
    taskEvents(filter: { status: $status }) {
      type
      at
      task {
        id
        title
        status
      }
    }
  }
`;
