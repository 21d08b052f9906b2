import { DefaultFailureConverter } from '@temporalio/common';

/**
 * The failure converter of every Temporal client and worker (and of the
 * workflow bundle, which loads this file by path: `failureConverterPath` in
 * core/codec.ts). Failure messages and stack traces can name recipients and
 * quote providers' answers, so they go into an encoded attribute, a payload
 * the payload codec seals like any other; the failure itself reads "Encoded
 * failure". Decoding also reads failures written before this (message and
 * stack trace in clear), so old histories still replay.
 *
 * Workflow-safe: it runs inside the workflow sandbox too (no Node built-ins).
 */
export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
