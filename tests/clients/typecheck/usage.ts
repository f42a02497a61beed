// What an app writes against the generated types; `tsc --strict` must accept it, and each
// `@ts-expect-error` line must be an error (tsc fails on an unused one): the types say what the
// schema means (non-null booleans, nullable email and assignee, enums as their values).
import type { WebTaskListQuery$data } from '../build/relay/WebTaskListQuery.graphql';
import type { WebTaskList_card$data } from '../build/relay/WebTaskList_card.graphql';
import type { WebProfileQuery$data } from '../build/relay/WebProfileQuery.graphql';
import {
  WebTaskDetailQueryDocument,
  type TaskStatus,
  type WebTaskDetailQueryQuery,
  type WebTaskListQueryQueryVariables,
} from '../build/codegen/graphql';

export const nextPage = (data: WebTaskListQuery$data): WebTaskListQueryQueryVariables => ({
  first: 20,
  after: data.tasks.pageInfo.endCursor ?? null,
  status: ['OPEN' satisfies TaskStatus],
});

export const claimable = (card: WebTaskList_card$data): boolean =>
  card.viewerCanClaim && card.status === 'OPEN' && card.assignee === null;

export const buttons = (data: WebTaskDetailQueryQuery): string[] => {
  const task = data.task;
  if (!task) return [];
  const shown: [boolean, string][] = [
    [task.viewerCanClaim, 'claim'],
    [task.viewerCanStart, 'start'],
    [task.viewerCanComplete, 'complete'],
  ];
  return shown.filter(([may]) => may).map(([, label]) => label);
};

export const email = (data: WebProfileQuery$data): string => {
  // @ts-expect-error: a user's email is null for everyone but the user and admins
  const shown: string = data.user?.email;
  return shown ?? '';
};

// @ts-expect-error: `status` is the TaskStatus enum, not any string
export const wrong: WebTaskList_card$data['status'] = 'DONE';

export const document = WebTaskDetailQueryDocument;
