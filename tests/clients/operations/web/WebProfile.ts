import { graphql } from 'relay-runtime';

// A profile page: another user by username, with reputation and vouches; vouching for them.
export const profile = graphql`
  query WebProfileQuery($username: String!) {
    me {
      id
    }
    user(by: { username: $username }) {
      id
      username
      bio
      location
      avatarUrl
      email
      roles
      viewerCanVouch
      skills {
        proficiency
        endorsementsCount
        skill {
          name
        }
      }
      reputation {
        score
        tier
        stale
        cachedAt
      }
      vouchesReceived(first: 5) {
        totalCount
        edges {
          node {
            weightHint
            message
            voucher {
              username
            }
            skill {
              name
            }
          }
        }
      }
    }
  }
`;

export const vouch = graphql`
  mutation WebProfileVouchMutation($input: VouchCreateInput!) {
    vouchCreate(input: $input) {
      vouch {
        id
        weightHint
      }
      errors {
        message
        path
        ... on VouchError {
          code
        }
      }
    }
  }
`;
