/** Workflow IDs come from business keys, readable in the Web UI. */
export const mailboxWorkflowId = (address: string): string => `mailbox-${address.toLowerCase()}`;
export const campaignWorkflowId = (campaignId: string): string => `campaign-${campaignId}`;
