// The barrel the worker bundles.
export { campaignWorkflow } from './campaign.workflow';
export { campaignGroupWorkflow } from './campaign-group.workflow';
export { mailboxWorkflow } from './mailbox.workflow';
export { reputationWorkflow } from './reputation.workflow';
export { rotationWorkflow } from './rotation.workflow';
export { imapWatcherWorkflow } from './imap-watcher.workflow';
export { retentionWorkflow } from './retention.workflow';
