/** Domain errors that the API's one error handler maps to the API.md format. */
export interface ErrorDetail {
  path: string;
  message: string;
}

export class AppError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly details: ErrorDetail[] = [],
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export const notFound = (what: string, details: ErrorDetail[] = []) => new AppError(404, 'not_found', `${what} not found`, details);
/** The key may not do this (a capability, e.g. a field only the operator may set); another client's resource is a 404, never this. */
export const forbidden = (message: string, details: ErrorDetail[] = []) => new AppError(403, 'forbidden', message, details);
export const conflict = (message: string, details: ErrorDetail[] = []) =>
  new AppError(409, 'conflict', message, details);
export const badRequest = (message: string, details: ErrorDetail[] = []) =>
  new AppError(400, 'validation_failed', message, details);
export const unprocessable = (message: string, details: ErrorDetail[] = []) =>
  new AppError(422, 'unprocessable', message, details);
