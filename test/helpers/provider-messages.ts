import { ProviderSendError, type OutgoingMessage } from '../../activities/providers/types';

/** A complete outgoing message (unsubscribe and threading headers included) for adapter tests. */
export function message(over: Partial<OutgoingMessage> = {}): OutgoingMessage {
  return {
    from: { address: 'alice@sender.example', name: 'Alice Sender' },
    to: 'bob@lead.example',
    subject: 'Quick question',
    text: 'Hi Bob, plain text.',
    html: '<p>Hi Bob, <b>html</b>.</p>',
    messageId: '<m-1@sender.example>',
    correlationId: 'send:7f3c/step-2',
    headers: {
      'List-Unsubscribe': '<https://u.example/unsub/abc>, <mailto:unsub@u.example>',
      'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
    },
    inReplyTo: '<m-0@sender.example>',
    references: ['<m-0@sender.example>'],
    ...over,
  };
}

/** The ProviderSendError a failing send rejects with (fails the test if it resolves or throws something else). */
export async function failure(p: Promise<unknown>): Promise<ProviderSendError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ProviderSendError);
  return err as ProviderSendError;
}
