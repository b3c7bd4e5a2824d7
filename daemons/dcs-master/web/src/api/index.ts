// The client the views use: the session's token on every call, and a 401 ends the session.
import { getToken, endSession } from './auth';
import { createClient } from './client';

export const api = createClient({ getToken, onUnauthorized: endSession });

export { ApiError } from './client';
export type { ApiClient } from './client';
