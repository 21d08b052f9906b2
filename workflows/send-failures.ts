/** Failure types the send activities throw and the campaign and mailbox workflows branch on. */
export const SEND_FAILURE_TYPES = {
  senderMisconfigured: 'SenderMisconfigured',
  throttled: 'Throttled',
  transient: 'Transient',
  providerDown: 'ProviderDown',
} as const;
