// The barrel the worker bundles.
export { campaignWorkflow } from './campaign.workflow';
export { mailboxWorkflow } from './mailbox.workflow';
