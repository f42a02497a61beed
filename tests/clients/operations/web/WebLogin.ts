import { graphql } from 'relay-runtime';

// The login form: tokens and who signed in, or the payload's errors (wrong login or password).
export const login = graphql`
  mutation WebLoginMutation($input: TokenCreateInput!) {
    tokenCreate(input: $input) {
      accessToken
      accessTokenExpiresAt
      refreshToken
      user {
        id
        username
        roles
      }
      errors {
        ...WebLogin_error
      }
    }
  }
`;

export const error = graphql`
  fragment WebLogin_error on UserError {
    __typename
    message
    path
    ... on AccountError {
      code
    }
  }
`;

export const refresh = graphql`
  mutation WebLoginRefreshMutation($refreshToken: String!) {
    tokenRefresh(input: { refreshToken: $refreshToken }) {
      accessToken
      refreshToken
      errors {
        ...WebLogin_error
      }
    }
  }
`;
