import { graphql } from 'relay-runtime';

// The viewer's own profile screen and its edit form.
export const profile = graphql`
  query MobileProfileQuery {
    me {
      id
      username
      email
      bio
      location
      avatarUrl
      roles
      skills {
        proficiency
        skill {
          name
        }
      }
      contributions(first: 10) {
        totalCount
        edges {
          node {
            id
            title
            contributionType
            verificationStatus
            createdAt
          }
        }
      }
    }
  }
`;

export const update = graphql`
  mutation MobileProfileUpdateMutation($input: AccountUpdateInput!) {
    accountUpdate(input: $input) {
      user {
        id
        bio
        location
        skills {
          skill {
            name
          }
        }
      }
      errors {
        message
        path
        ... on AccountError {
          code
        }
      }
    }
  }
`;

export const logout = graphql`
  mutation MobileProfileLogoutMutation($refreshToken: String!) {
    tokenRevoke(input: { refreshToken: $refreshToken }) {
      revoked
      errors {
        message
        ... on AccountError {
          code
        }
      }
    }
  }
`;
