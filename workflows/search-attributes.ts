import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * Custom search attributes, registered by scripts/dev.ts (dev server) and by
 * the compose setup, so the Web UI can filter one client's or one campaign's work.
 */
export const SA_CLIENT = defineSearchAttributeKey('OutreachClient', SearchAttributeType.KEYWORD);
export const SA_CAMPAIGN = defineSearchAttributeKey('OutreachCampaign', SearchAttributeType.KEYWORD);
export const SA_MAILBOX = defineSearchAttributeKey('OutreachMailbox', SearchAttributeType.KEYWORD);
export const SA_STATUS = defineSearchAttributeKey('OutreachStatus', SearchAttributeType.KEYWORD);

/** Name → type, in the CLI's spelling (`--search-attribute Name=Keyword`). */
export const SEARCH_ATTRIBUTES: Record<string, 'Keyword'> = {
  OutreachClient: 'Keyword',
  OutreachCampaign: 'Keyword',
  OutreachMailbox: 'Keyword',
  OutreachStatus: 'Keyword',
};
