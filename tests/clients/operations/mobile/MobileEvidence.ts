import { graphql } from 'relay-runtime';

// Proving work from the phone: a photo upload (request, PUT, confirm), witnesses, live status.
export const uploadRequest = graphql`
  mutation MobileEvidenceUploadRequestMutation($input: EvidenceUploadRequestInput!) {
    evidenceUploadRequest(input: $input) {
      evidence {
        id
        status
      }
      upload {
        url
        method
        expiresAt
        headers {
          name
          value
        }
      }
      errors {
        message
        path
        ... on EvidenceError {
          code
        }
      }
    }
  }
`;

export const uploadConfirm = graphql`
  mutation MobileEvidenceUploadConfirmMutation($evidenceId: ID!) {
    evidenceUploadConfirm(input: { evidenceId: $evidenceId }) {
      evidence {
        id
        status
      }
      errors {
        message
        ... on EvidenceError {
          code
        }
      }
    }
  }
`;

export const submit = graphql`
  mutation MobileEvidenceSubmitMutation($input: EvidenceSubmitInput!) {
    evidenceSubmit(input: $input) {
      evidence {
        id
        evidenceType
        status
        timestamp
        latitude
        longitude
        accuracyMeters
        warnings {
          code
          message
        }
        witnesses {
          witnessName
          relationship
        }
      }
      errors {
        message
        path
        ... on EvidenceError {
          code
        }
      }
    }
  }
`;

export const updated = graphql`
  subscription MobileEvidenceUpdatedSubscription($contributionId: ID!) {
    evidenceUpdated(contributionId: $contributionId) {
      status
      at
      evidence {
        id
        mediaHash
        rejectionReason
        fileUrl
      }
    }
  }
`;
