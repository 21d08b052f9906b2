/** Workflow IDs come from business keys, readable in the Web UI. */
export const mailboxWorkflowId = (address: string): string => `mailbox-${address.toLowerCase()}`;
export const campaignWorkflowId = (campaignId: string): string => `campaign-${campaignId}`;
/** Group k of a campaign's round r (a child of campaign-<id>), readable next to it in the Web UI. */
export const campaignGroupWorkflowId = (campaignId: string, round: number, group: number): string =>
  `${campaignWorkflowId(campaignId)}-r${round}-g${group}`;
/** A mailbox's inbox watcher, next to mailbox-<address> in the Web UI. */
export const imapWatcherWorkflowId = (address: string): string => `imap-${address.toLowerCase()}`;
