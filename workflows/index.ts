// The barrel the worker bundles.
export { campaignWorkflow } from './campaign.workflow';
