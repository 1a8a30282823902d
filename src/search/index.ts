export { AnswerMerger, mergeAnswers } from './merge.ts'
export type { AddOutcome, MergedAnswers, MergedResult } from './merge.ts'
export { SEARCH_LIMITS, SeenQueries, newQueryId, parseQuery } from './query.ts'
export type { QueryInput, SearchQuery } from './query.ts'
