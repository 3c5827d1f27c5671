/**
 * The single place where error codes become HTTP statuses. Every error leaves as
 * `application/problem+json` `{type, title, status, code, detail}`; no stack traces, no internals.
 */
import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import { AppError, type ErrorCode } from '../../errors.js';

const STATUS: Readonly<Partial<Record<ErrorCode, number>>> = {
  ERR_INVALID_JSON: 400,
  ERR_INVALID_MESSAGE: 400,
  ERR_INVALID_ARGUMENT: 400,
  ERR_CRYPTO_INPUT: 400,
  ERR_UNAUTHORIZED: 401,
  ERR_BAD_SIGNATURE: 401,
  ERR_FORBIDDEN_HOST: 403,
  ERR_FORBIDDEN_ORIGIN: 403,
  ERR_NOT_MEMBER: 403,
  ERR_FORBIDDEN: 403,
  ERR_BANNED: 403,
  ERR_NOT_VERIFIED: 403,
  ERR_WRONG_PASSWORD: 403,
  ERR_INVITE_INVALID: 403,
  ERR_INVITE_EXPIRED: 410,
  ERR_INVITE_USED: 410,
  ERR_ROOM_FULL: 409,
  ERR_AMBIGUOUS: 409,
  ERR_CONFLICT: 409,
  ERR_CLOCK_SKEW: 422,
  ERR_MISSING_KEY: 422,
  ERR_NOT_FOUND: 404,
  ERR_METHOD_NOT_ALLOWED: 405,
  ERR_VERSION_CONFLICT: 409,
  ERR_STORE_LOCKED: 409,
  ERR_FINGERPRINT_MISMATCH: 409,
  ERR_REPLAYED: 409,
  ERR_BODY_TOO_LARGE: 413,
  ERR_UNSUPPORTED_MEDIA_TYPE: 415,
  ERR_DECRYPT_FAILED: 422,
  ERR_HANDSHAKE_FAILED: 422,
  ERR_PEER_UNREACHABLE: 502,
  ERR_OVERLOADED: 503,
  ERR_NONCE_EXHAUSTED: 503,
  ERR_RATE_LIMITED: 429,
  ERR_UNKNOWN_SESSION: 404,
  ERR_INSPECT_OFF: 404,
  ERR_SHUTTING_DOWN: 503,
  ERR_NOT_RUNNING: 503,
  ERR_STORE_UNAVAILABLE: 503,
  ERR_TIMEOUT: 504,
};

const TITLE: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  410: 'Gone',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

export function statusOf(code: ErrorCode): number {
  return STATUS[code] ?? 500;
}

/** A problem's status and JSON text, as every route sends it. */
export function problemOf(
  code: ErrorCode,
  detail: string,
  extra?: Readonly<Record<string, unknown>>,
): { status: number; text: string } {
  const status = statusOf(code);
  const text = JSON.stringify({
    type: `urn:conclave:error:${code}`,
    title: TITLE[status] ?? 'Error',
    status,
    code,
    detail,
    ...extra,
  });
  return { status, text };
}

export function sendProblem(
  res: Response,
  code: ErrorCode,
  detail: string,
  extra?: Readonly<Record<string, unknown>>,
): void {
  sendProblemText(res, problemOf(code, detail, extra));
}

function sendProblemText(res: Response, p: { status: number; text: string }): void {
  if (res.headersSent) return;
  res.status(p.status).type('application/problem+json').send(p.text);
}

/** body-parser reports its failures with a `type` string; these are client errors, not ours. */
function fromBodyParser(err: unknown): AppError | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  if (!('type' in err)) {
    // A body that does not inflate (Content-Encoding: gzip with other bytes) comes as the zlib
    // error marked 400 by body-parser, with no type: still the client's, not a bug of ours.
    const status = 'status' in err ? err.status : undefined;
    if (typeof status !== 'number' || status < 400 || status >= 500) return undefined;
    // Express reports a path parameter it cannot decode (`/api/rooms/%ZZ`) as a URIError, 400.
    return err instanceof URIError
      ? new AppError('ERR_INVALID_ARGUMENT', 'bad percent-encoding in the request path')
      : new AppError('ERR_INVALID_ARGUMENT', 'the request body could not be read (bad encoding)');
  }
  switch (err.type) {
    case 'entity.parse.failed':
      return new AppError('ERR_INVALID_JSON', 'the request body is not valid JSON');
    case 'entity.too.large':
      return new AppError(
        'ERR_BODY_TOO_LARGE',
        'the request body is larger than this route accepts',
      );
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new AppError('ERR_UNSUPPORTED_MEDIA_TYPE', 'unsupported body encoding or charset');
    case 'request.aborted':
    case 'request.size.invalid':
    case 'stream.encoding.set':
      return new AppError('ERR_INVALID_ARGUMENT', 'the request body could not be read');
    default:
      return undefined;
  }
}

export interface ProblemHandlerDeps {
  /** Called for errors that are not AppErrors: our bugs, logged with their stack. */
  readonly onUnexpected: (err: unknown) => void;
}

/**
 * The problem an error becomes: an AppError or a body-parser client error with its code (and its
 * details, but never for `ERR_DECRYPT_FAILED`); anything else is a bug of ours (`isBug`), answered
 * `ERR_INTERNAL` with nothing of the error in it.
 */
export function problemOfError(err: unknown): { status: number; text: string; isBug: boolean } {
  const known = err instanceof AppError ? err : fromBodyParser(err);
  if (!known) {
    const p = problemOf('ERR_INTERNAL', 'an internal error occurred; see the peer log');
    return { ...p, isBug: true };
  }
  const details = known.details && known.code !== 'ERR_DECRYPT_FAILED' ? known.details : undefined;
  return {
    ...problemOf(known.code, known.message, details ? { details } : undefined),
    isBug: false,
  };
}

export function problemHandler(deps: ProblemHandlerDeps): ErrorRequestHandler {
  return (err: unknown, _req, res, _next) => {
    const p = problemOfError(err);
    if (p.isBug) deps.onUnexpected(err);
    sendProblemText(res, p);
  };
}

export const notFoundHandler: RequestHandler = (req, res) => {
  sendProblem(res, 'ERR_NOT_FOUND', `no route for ${req.method} ${req.path}`);
};
